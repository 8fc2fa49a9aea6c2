"""Build the demo's data set, as ``make demo`` does: 64 px grayscale -> colour pairs cut from scikit-image's bundled
photos, 400 train / 24 test (offline, seconds).

    python datasets/build_demo.py                       # data/gray2photo, what configs/demo.yaml trains on
    python datasets/build_demo.py --root data/g2p128 --size 128 --num-test 40     # other sizes override these

Same as ``python -m pono_gan.data.builders gray2photo --size 64 --num-train 400 --num-test 24``; the harder Canny
edges -> photo set is ``python -m pono_gan.data.builders edges2photo``. See datasets/README.md.
"""

import sys

from pono_gan.data.builders import main
from pono_gan.demo import DEMO_DATA

if __name__ == "__main__":
    sizes = [f"--{name.replace('_', '-')}={value}" for name, value in DEMO_DATA.items()]
    main(["gray2photo", *sizes, *sys.argv[1:]])  # later flags win

"""Build the demo data set: Canny edges -> photo pairs from scikit-image's bundled photos (offline, seconds).

    python datasets/build_demo.py                       # data/edges2photo, 128 px, 400 train / 40 test pairs
    python datasets/build_demo.py --root data/e2p64 --size 64 --num-train 200

Same as ``python -m pono_gan.data.builders edges2photo ...``; see datasets/README.md.
"""

import sys

from pono_gan.data.builders import main

if __name__ == "__main__":
    main(["edges2photo", *sys.argv[1:]])

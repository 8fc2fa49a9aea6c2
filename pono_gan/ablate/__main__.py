"""``python -m pono_gan.ablate``: see :mod:`pono_gan.ablate`."""

import sys

from pono_gan.ablate.cli import main

if __name__ == "__main__":
    sys.exit(main())

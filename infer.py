"""Translate images with a trained pono-gan checkpoint (``pono-gan infer`` after ``pip install``): see
``python infer.py --help`` or :mod:`pono_gan.inference.cli`."""

import sys

from pono_gan.inference.cli import main

if __name__ == "__main__":
    sys.exit(main())

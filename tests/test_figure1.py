import numpy as np
from PIL import Image

from pono_gan.figure1 import main


def test_figure1_draws_the_moments_of_four_depths_per_image(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for index, size in enumerate([(64, 48), (30, 40)]):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(tmp_path / f"{index}.png")
    Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(tmp_path / "gray.png")  # grayscale works too
    images = [str(tmp_path / name) for name in ("0.png", "1.png", "gray.png")]
    assert main([*images, "--out", str(tmp_path / "figure.png")]) == 0
    with Image.open(tmp_path / "figure.png") as figure:
        width, height = figure.size
    assert width == 2 + 9 * (224 + 2)  # the image, then mean and std at 1/4, 1/8, 1/16 and 1/32
    assert height > 2 + 3 * (224 + 2)  # three rows under the label strip
    assert main([str(tmp_path / "missing.png"), "--out", str(tmp_path / "x.png")]) == 2
    assert "image not found" in capsys.readouterr().err

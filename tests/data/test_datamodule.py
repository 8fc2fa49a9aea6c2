import warnings

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from pono_gan.data import ImageTranslationDataModule
from pono_gan.data.sampling import EpochSampler
from tests.data import make_paired, make_unpaired, random_rgb, write

SMALL = dict(preprocess="resize_and_crop", load_size=36, crop_size=32, num_workers=0)


def data_module(root, **kwargs):
    return ImageTranslationDataModule(str(root), **{**SMALL, **kwargs})


class TinyModule(pl.LightningModule):
    """Records what it is fed; ``image_channels`` is what the data module should read."""

    def __init__(self, image_channels=(1, 3)):
        super().__init__()
        self.image_channels = image_channels
        self.layer = torch.nn.Conv2d(image_channels[0], image_channels[1], 1)
        self.train_shapes, self.val_calls = [], 0

    def training_step(self, batch, batch_idx):
        self.train_shapes.append((tuple(batch["A"].shape), tuple(batch["B"].shape)))
        return torch.nn.functional.l1_loss(self.layer(batch["A"]), batch["B"])

    def validation_step(self, batch, batch_idx):
        self.val_calls += 1

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def tiny_trainer(**kwargs):
    return pl.Trainer(
        accelerator="cpu", max_epochs=1, limit_train_batches=2, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, **kwargs,
    )


def test_hyperparameters_are_saved(tmp_path):
    module = data_module(tmp_path, layout="unpaired", channels=(1, 3))
    assert module.hparams.layout == "unpaired" and module.hparams.channels == (1, 3) and module.hparams.load_size == 36


def test_batches(tmp_path):
    make_paired(tmp_path, count=5, size=(40, 40))
    module = data_module(tmp_path, batch_size=2, channels=(1, 3))
    module.setup("fit")
    batch = next(iter(module.train_dataloader()))
    assert set(batch) == {"A", "B", "A_path", "B_path"}
    assert batch["A"].shape == (2, 1, 32, 32) and batch["B"].shape == (2, 3, 32, 32)
    assert batch["A"].dtype == torch.float32 and batch["A"].min() >= -1 and batch["B"].max() <= 1
    assert isinstance(batch["A_path"], list) and len(batch["B_path"]) == 2
    assert module.val_dataloader() == []  # no val or test split


def test_dataloader_settings(tmp_path):
    make_paired(tmp_path, count=3)
    module = data_module(tmp_path, num_workers=1)
    module.setup("fit")
    loader = module.train_dataloader()
    assert isinstance(loader, DataLoader)
    assert loader.num_workers == 1 and loader.persistent_workers
    assert loader.pin_memory == torch.cuda.is_available()
    assert isinstance(loader.sampler, EpochSampler)


def test_epoch_order_and_sample_seeds_follow_from_seed_and_epoch():
    sampler = EpochSampler(list(range(5)), seed=3)
    first = sampler.epoch_keys()
    assert sorted(index for index, _ in first) == [0, 1, 2, 3, 4]
    assert EpochSampler(list(range(5)), seed=3).epoch_keys() == first  # a function of (seed, epoch) only
    sampler.set_epoch(1)
    assert sampler.epoch_keys() != first and sorted(i for i, _ in sampler.epoch_keys()) == [0, 1, 2, 3, 4]
    assert EpochSampler(list(range(5)), seed=4).epoch_keys() != first
    ranks = [EpochSampler(list(range(5)), seed=3, num_replicas=2, rank=r).epoch_keys() for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) == 3 and set(ranks[0] + ranks[1]) == set(first)  # padded to 6, disjoint


@pytest.mark.parametrize("workers", [0, 2])
def test_a_loader_resumed_mid_epoch_yields_the_rest_of_the_epoch(tmp_path, workers):
    """Order, crops, flips and unpaired partners of the resumed batches equal the uninterrupted ones."""
    make_paired(tmp_path, count=7, size=(40, 40))
    module = data_module(tmp_path, layout="unpaired", batch_size=2, num_workers=workers)
    module.setup("fit")
    loader = module.train_dataloader()
    loader.sampler.set_epoch(2)
    uninterrupted = list(loader)
    assert len(uninterrupted) == 4
    iterator = iter(loader)
    seen = [next(iterator), next(iterator)]
    state = loader.state_dict()
    assert state == {"seed": loader.sampler.seed, "epoch": 2, "samples": 4}
    resumed_loader = data_module(tmp_path, layout="unpaired", batch_size=2, num_workers=workers).train_dataloader()
    resumed_loader.load_state_dict(state)
    rest = list(resumed_loader)
    assert len(rest) == 2
    for batch, expected in zip(seen + rest, uninterrupted):
        assert batch["A_path"] == expected["A_path"] and batch["B_path"] == expected["B_path"]
        assert torch.equal(batch["A"], expected["A"]) and torch.equal(batch["B"], expected["B"])
    # a finished epoch continues with the next one, from its start
    resumed_loader.load_state_dict(resumed_loader.state_dict())
    assert resumed_loader.sampler.epoch == 3 and len(list(resumed_loader)) == 4


def test_validation_uses_val_then_test_with_a_limit(tmp_path):
    make_paired(tmp_path, count=2)
    make_paired(tmp_path, split="test", count=5)
    module = data_module(tmp_path, max_val_images=3)
    with pytest.warns(UserWarning,
                      match="no val split under .*: validation uses the first 3 samples of the test") as said:
        module.setup("fit")
        module.setup("fit")
    assert len([w for w in said if "no val split" in str(w.message)]) == 1  # said once
    assert module.val_split == "test" and len(module.val_dataset) == 3
    names = [path.rsplit("/", 1)[1] for batch in module.val_dataloader() for path in batch["A_path"]]
    assert names == ["p0.png", "p1.png", "p2.png"]
    make_paired(tmp_path, split="val", count=4)
    module = data_module(tmp_path, max_val_images=None)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="no val split")
        module.setup("fit")
    assert module.val_split == "val" and len(module.val_dataset) == 4
    module.setup("test")
    assert len(module.test_dataloader().dataset) == 5


def test_max_val_images_zero_turns_validation_off(tmp_path):
    make_paired(tmp_path, count=2)
    make_paired(tmp_path, split="val", count=2)
    module = data_module(tmp_path, max_val_images=0)
    module.setup("fit")
    assert not module.has_validation and module.val_dataloader() == []


def test_test_split_required_for_test(tmp_path):
    make_paired(tmp_path)
    module = data_module(tmp_path)
    with pytest.raises(FileNotFoundError) as error:
        module.setup("test")
    assert str(tmp_path / "testA") in str(error.value)


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        data_module(tmp_path / "nowhere").setup("fit")
    message = str(error.value)
    assert "\n" not in message and str(tmp_path / "nowhere") in message
    assert "python -m pono_gan.data.builders {edges2photo,gray2photo,glyphs,fonts} --root" in message


def test_the_missing_root_message_names_every_builder(capsys):
    from pono_gan.data import builders, datamodule

    with pytest.raises(SystemExit):
        builders.main(["--help"])  # its usage line lists the subcommands
    assert "{" + ",".join(datamodule.BUILDERS) + "}" in capsys.readouterr().out


def test_unbatchable_sizes_error_and_eval_batch_of_one(tmp_path):
    for index, width in enumerate((32, 40)):
        for split in ("train", "val"):
            write(tmp_path / f"{split}A" / f"{index}.png", random_rgb(24, width))
            write(tmp_path / f"{split}B" / f"{index}.png", random_rgb(24, width))
    with pytest.raises(ValueError) as error:
        data_module(tmp_path, preprocess="none", batch_size=2).setup("fit")
    message = str(error.value)
    assert "\n" not in message and "use batch_size 1 or a cropping preset" in message
    assert str(tmp_path / "trainA" / "0.png") in message and "1.png gives 40x24" in message
    module = data_module(tmp_path, preprocess="none", batch_size=1)
    module.setup("fit")
    module.hparams.batch_size = 2
    assert module.val_dataloader().batch_size == 1  # validation falls back to single images


def test_sample_batch_is_deterministic(tmp_path):
    make_paired(tmp_path, count=4, size=(40, 40))
    make_paired(tmp_path, split="val", count=3, size=(40, 40))
    module = data_module(tmp_path)
    first, second = module.sample_batch(2), module.sample_batch(2)
    assert first["A"].shape == (2, 3, 32, 32)
    assert torch.equal(first["A"], second["A"]) and torch.equal(first["B"], second["B"])
    assert [p.rsplit("/", 1)[1] for p in first["A_path"]] == ["p0.png", "p1.png"]
    assert "valA" in first["A_path"][0]
    assert module.sample_batch(10)["A"].shape[0] == 3  # no more than the split holds


def test_sample_batch_falls_back_to_training_images(tmp_path):
    make_unpaired(tmp_path, count_a=3, count_b=2, size=(40, 40))
    module = data_module(tmp_path, layout="unpaired")
    batch = module.sample_batch(3)
    assert "trainA" in batch["A_path"][0] and batch["B"].shape == (3, 3, 32, 32)
    assert [p.rsplit("/", 1)[1] for p in batch["B_path"]] == ["b0.png", "b1.png", "b0.png"]
    assert torch.equal(batch["A"], module.sample_batch(3)["A"])


@pytest.mark.slow
def test_fit_without_validation_split(tmp_path, recwarn):
    # no val or test: val_dataloader returns [] and Lightning skips validation (and its sanity check) cleanly;
    # channels come from the module's image_channels
    make_paired(tmp_path, count=4, size=(40, 40))
    module, model = data_module(tmp_path, batch_size=2), TinyModule(image_channels=(1, 3))
    trainer = tiny_trainer()
    trainer.fit(model, datamodule=module)
    assert trainer.global_step == 2 and model.val_calls == 0
    assert model.train_shapes == [((2, 1, 32, 32), (2, 3, 32, 32))] * 2
    assert not [w for w in recwarn if "across ranks is zero" in str(w.message)]  # skipped quietly


@pytest.mark.slow
def test_fit_with_validation_split(tmp_path):
    make_paired(tmp_path, count=4, size=(40, 40))
    make_paired(tmp_path, split="val", count=3, size=(40, 40))
    model = TinyModule(image_channels=(3, 3))
    trainer = tiny_trainer(limit_val_batches=2, num_sanity_val_steps=0)
    trainer.fit(model, datamodule=data_module(tmp_path))
    assert model.val_calls == 2

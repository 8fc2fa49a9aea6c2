"""``python -m pono_gan.convert``: generators laid out as junyanz's and the official PONO code's networks (written
here from their published module structure) convert, translate as the reference forward does, and run in infer.py."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import infer
from pono_gan.convert import ConvertError, convert, main
from pono_gan.inference import load_model


def norm_layer(norm):
    return {"instance": functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False),
            "batch": functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True),
            "none": lambda c: nn.Identity()}[norm]


class ResBlock(nn.Module):  # junyanz ResnetBlock: conv_block = [pad, conv, norm, ReLU, (dropout), pad, conv, norm]
    def __init__(self, dim, norm, dropout, bias):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm)(dim), nn.ReLU(True)]
        layers += [nn.Dropout(0.5)] if dropout else []
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm)(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class JunyanzResnet(nn.Module):  # junyanz ResnetGenerator: self.model, one Sequential
    def __init__(self, input_nc, output_nc, ngf, norm, dropout, n_blocks):
        super().__init__()
        bias = norm == "instance"
        n = norm_layer(norm)
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=bias), n(ngf), nn.ReLU(True)]
        for i in range(2):
            layers += [nn.Conv2d(ngf * 2**i, ngf * 2 ** (i + 1), 3, 2, 1, bias=bias), n(ngf * 2 ** (i + 1)),
                       nn.ReLU(True)]
        layers += [ResBlock(ngf * 4, norm, dropout, bias) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1, bias=bias),
                       n(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class SkipBlock(nn.Module):  # junyanz UnetSkipConnectionBlock
    def __init__(self, outer, inner, input_nc=None, sub=None, outermost=False, innermost=False, norm="batch",
                 dropout=False):
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        n = norm_layer(norm)
        input_nc = input_nc or outer
        down = nn.Conv2d(input_nc, inner, 4, 2, 1, bias=bias)
        if outermost:
            layers = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias), n(outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, n(inner), sub, nn.ReLU(True),
                      nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias),
                      n(outer)] + ([nn.Dropout(0.5)] if dropout else [])
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class JunyanzUnet(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf, norm, dropout):
        super().__init__()
        block = SkipBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = SkipBlock(ngf * 8, ngf * 8, sub=block, norm=norm, dropout=dropout)
        for outer in (4, 2, 1):
            block = SkipBlock(ngf * outer, ngf * outer * 2, sub=block, norm=norm)
        self.model = SkipBlock(output_nc, ngf, input_nc, block, outermost=True, norm=norm)

    def forward(self, x):
        return self.model(x)


class OfficialPonoBlock(nn.Module):  # the official code's Conv2dBlock: conv -> [PONO] -> BatchNorm2d -> ReLU
    def __init__(self, c_in, c_out, deconv, bias, pono):
        super().__init__()
        self.conv = (nn.ConvTranspose2d(c_in, c_out, 3, 2, 1, output_padding=1, bias=bias) if deconv
                     else nn.Conv2d(c_in, c_out, 3, 2, 1, bias=bias))
        self.norm = nn.BatchNorm2d(c_out)
        self.pono = pono

    def forward(self, x):
        x = self.conv(x)
        mean = std = None
        if self.pono:
            mean, std = x.mean(1, keepdim=True), (x.var(1, keepdim=True) + 1e-5).sqrt()  # unbiased, as torch's var
            x = (x - mean) / std
        x = torch.relu(self.norm(x))
        return (x, mean, std) if self.pono else x


class OfficialPonoMS(nn.Module):  # ResnetPONOMSGenerator
    def __init__(self, input_nc, output_nc, ngf, norm, n_blocks=9):
        super().__init__()
        bias = norm == "instance"
        self.reflection_block = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=bias),
                                              norm_layer(norm)(ngf), nn.ReLU(True))
        self.down_model = nn.Sequential(*(OfficialPonoBlock(ngf * 2**i, ngf * 2 ** (i + 1), False, bias, True)
                                          for i in range(2)))
        self.res_block = nn.Sequential(*(ResBlock(ngf * 4, norm, False, bias) for _ in range(n_blocks)))
        self.up_model = nn.Sequential(*(OfficialPonoBlock(ngf * 2 ** (2 - i), ngf * 2 ** (1 - i), True, bias, False)
                                        for i in range(2)))
        self.out_block = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh())

    def forward(self, x):
        x = self.reflection_block(x)
        stats = []
        for block in self.down_model:
            x, mean, std = block(x)
            stats.append((mean, std))
        x = self.res_block(x)
        for block, (mean, std) in zip(self.up_model, reversed(stats)):
            x = block(x * std + mean)  # MS at the input of the up-sampling block
        return self.out_block(x)


def randomize(module, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.2)
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)
    return module


CASES = [
    ("junyanz", "resnet_9blocks", "instance", True, lambda: JunyanzResnet(3, 3, 8, "instance", False, 9), 32),
    ("junyanz", "resnet_6blocks", "batch", False, lambda: JunyanzResnet(3, 3, 8, "batch", True, 6), 32),
    ("junyanz", "resnet_9blocks", "none", True, lambda: JunyanzResnet(3, 3, 8, "none", False, 9), 32),
    ("junyanz", "unet_256", "batch", False, lambda: JunyanzUnet(3, 3, 8, 8, "batch", True), 256),
    ("junyanz", "unet_128", "instance", True, lambda: JunyanzUnet(3, 3, 7, 8, "instance", False), 128),
    ("official-pono", "restnetPONOMS_9block", "instance", True, lambda: OfficialPonoMS(3, 3, 8, "instance"), 32),
]


@pytest.mark.parametrize("tool,netG,norm,no_dropout,build,size", CASES, ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_conversion_reproduces_the_reference_forward(tool, netG, norm, no_dropout, build, size, tmp_path):
    reference = randomize(build())
    torch.save(reference.state_dict(), tmp_path / "latest_net_G.pth")
    flags = dict(norm=norm, no_dropout=no_dropout, ngf=8)
    out, notes = convert(tool, tmp_path / "latest_net_G.pth", netG, tmp_path / "g.ckpt", **flags)
    model = load_model(out)
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        expected = reference.eval()(x)
        torch.testing.assert_close(model.generator(x), expected, rtol=0, atol=1e-5)
        if norm == "batch" and no_dropout:  # junyanz's test.py default: train mode, batch norm on the batch
            torch.testing.assert_close(model.generator.train()(x), reference.train()(x), rtol=0, atol=1e-5)
    assert (norm == "none") == any("no bias" in note for note in notes)


def test_converted_models_translate_a_folder_with_infer(tmp_path):
    torch.save(randomize(JunyanzResnet(3, 3, 8, "instance", False, 9)).state_dict(), tmp_path / "latest_net_G_A.pth")
    assert main(["junyanz", str(tmp_path / "latest_net_G_A.pth"), "--netG", "resnet_9blocks", "--no_dropout",
                 "--ngf", "8", "--out", str(tmp_path / "g.ckpt")]) == 0
    (tmp_path / "in").mkdir()
    for index, size in enumerate([(40, 30), (64, 64)]):
        Image.fromarray(np.random.default_rng(index).integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(
            tmp_path / "in" / f"{index}.png")
    assert infer.main(["--checkpoint", str(tmp_path / "g.ckpt"), "--input", str(tmp_path / "in"), "--output",
                       str(tmp_path / "out"), "--quiet", "--workers", "0"]) == 0
    assert {p.name: Image.open(p).size for p in (tmp_path / "out").iterdir()} == {"0.png": (40, 30), "1.png": (64, 64)}
    assert load_model(tmp_path / "g.ckpt").data["channels"] == [3, 3]


def test_wrong_flags_and_files_are_one_line_errors(tmp_path, capsys):
    torch.save(JunyanzResnet(3, 3, 8, "instance", False, 9).state_dict(), tmp_path / "g9.pth")
    with pytest.raises(ConvertError, match="check --netG resnet_6blocks"):
        convert("junyanz", tmp_path / "g9.pth", "resnet_6blocks", tmp_path / "x.ckpt", ngf=8, no_dropout=True)
    with pytest.raises(ConvertError,
                       match="has no model.10.conv_block.6.weight.*whether it was trained with --no_dropout"):
        convert("junyanz", tmp_path / "g9.pth", "resnet_9blocks", tmp_path / "x.ckpt", ngf=8)  # dropout shifts the keys
    torch.save({**JunyanzResnet(3, 3, 8, "instance", False, 9).state_dict(), "extra.weight": torch.zeros(1)},
               tmp_path / "more.pth")
    with pytest.raises(ConvertError, match="1 tensors do not belong to --netG resnet_9blocks.*extra.weight"):
        convert("junyanz", tmp_path / "more.pth", "resnet_9blocks", tmp_path / "x.ckpt", ngf=8, no_dropout=True)
    with pytest.raises(ConvertError, match=r"has shape \(8, 3, 7, 7\).*check --ngf 16"):
        convert("junyanz", tmp_path / "g9.pth", "resnet_9blocks", tmp_path / "x.ckpt", ngf=16, no_dropout=True)
    with pytest.raises(ConvertError, match="has no model.2.weight.*--norm batch"):
        convert("junyanz", tmp_path / "g9.pth", "resnet_9blocks", tmp_path / "x.ckpt", ngf=8, norm="batch",
                no_dropout=True)
    convert("junyanz", tmp_path / "g9.pth", "resnet_9blocks", tmp_path / "ours.ckpt", ngf=8, no_dropout=True)
    with pytest.raises(ConvertError, match="ours.ckpt: already a pono-gan checkpoint"):
        convert("junyanz", tmp_path / "ours.ckpt", "resnet_9blocks", tmp_path / "x.ckpt", ngf=8, no_dropout=True)
    with pytest.raises(ConvertError, match="resnetPONODMS_9blocks cannot be converted: its dynamic shortcut"):
        convert("official-pono", tmp_path / "g9.pth", "resnetPONODMS_9blocks", tmp_path / "x.ckpt")
    with pytest.raises(ConvertError, match="unknown --netG 'resnet_12blocks'"):
        convert("junyanz", tmp_path / "g9.pth", "resnet_12blocks", tmp_path / "x.ckpt")
    (tmp_path / "cut.pth").write_bytes((tmp_path / "g9.pth").read_bytes()[:1000])
    assert main(["junyanz", str(tmp_path / "cut.pth"), "--netG", "resnet_9blocks", "--out",
                 str(tmp_path / "x.ckpt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("convert: error:") and err.count("\n") == 1 and "cut.pth" in err
    assert not (tmp_path / "x.ckpt").exists()  # nothing written on an error

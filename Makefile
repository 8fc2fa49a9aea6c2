# Two commands do all the set-up: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv with pip if it is missing. PYTHON picks the interpreter that builds it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast ablation ablation-unpaired ablation-style ablation-fonts fonts test-fonts venv clean clean-runs

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m pono_gan.demo

# The linter (ruff, configured in pyproject.toml), then the tests and the docstrings' examples (doctests).
test: $(STAMP) test-fonts
	$(PY) -m ruff check .
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q -m "not slow"

# The PONO-vs-baselines ablation on Song -> Kai glyph pairs (26 runs, about 75 minutes on 2 cores): writes docs/results.md.
ablation: $(STAMP) fonts
	$(PY) benchmarks/ablation.py

# The paper's headline setting: unpaired CycleGAN on the glyphs as two disjoint domains, 6 variants, 5 / 3 seeds and
# a longer budget (about two and a half hours on 2 cores): writes docs/results_unpaired.md.
ablation-unpaired: $(STAMP) fonts
	$(PY) benchmarks/ablation.py --task unpaired

# The style (MUNIT) model with and without PONO-MS on the glyphs as unpaired domains: writes docs/results_style_glyphs.md.
ablation-style: $(STAMP) fonts
	$(PY) benchmarks/ablation.py --task style

# The style model on the font benchmark (Song against 8 other fonts, content and style accuracy): docs/results_fonts.md.
ablation-fonts: $(STAMP) fonts
	$(PY) benchmarks/ablation.py --task fonts

# Fonts, from Debian (needs root for apt-get; without it, the command to run is printed). `make test-fonts`: what the
# tests draw (Arphic Song / Kai, DejaVu; the tests that need them skip without them, and fail under CI). `make fonts`:
# those and the font benchmark's 11 candidate fonts (python -m pono_gan.data.builders fonts), about 120 MB.
TEST_FONTS := /usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf /usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf \
	/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf
TEST_FONT_PACKAGES := fonts-arphic-gbsn00lp fonts-arphic-gkai00mp fonts-dejavu-core
BENCHMARK_FONTS := /usr/share/fonts/truetype/arphic-bkai00mp/bkai00mp.ttf /usr/share/fonts/truetype/arphic/uming.ttc \
	/usr/share/fonts/truetype/cwtex/cwming.ttf /usr/share/fonts/truetype/cwtex/cwheib.ttf \
	/usr/share/fonts/truetype/cwtex/cwyen.ttf /usr/share/fonts/truetype/cwtex/cwfs.ttf /usr/share/fonts/truetype/cwtex/cwkai.ttf \
	/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc /usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf \
	/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf
BENCHMARK_FONT_PACKAGES := fonts-arphic-bkai00mp fonts-arphic-uming fonts-cwtex-ming fonts-cwtex-heib fonts-cwtex-yen \
	fonts-cwtex-fs fonts-cwtex-kai fonts-wqy-zenhei fonts-lxgw-wenkai fonts-babelstone-han
define install_fonts
	@for f in $(1); do test -f $$f || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq $(2) >/dev/null; \
	  else \
	    echo "note: fonts are missing; run: sudo apt-get install $(2)"; \
	  fi; \
	fi
endef
test-fonts:
	$(call install_fonts,$(TEST_FONTS),$(TEST_FONT_PACKAGES))
fonts:
	$(call install_fonts,$(TEST_FONTS) $(BENCHMARK_FONTS),$(TEST_FONT_PACKAGES) $(BENCHMARK_FONT_PACKAGES))

# keeps runs/ (every checkpoint); `make clean-runs` deletes it after asking
clean:
	rm -rf $(VENV) wandb outputs build

clean-runs:
	@printf 'delete runs/ with every checkpoint in it? [y/N] '; read answer; [ "$$answer" = y ] && rm -rf runs || echo kept runs/

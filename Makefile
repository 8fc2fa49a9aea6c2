# Two commands do all the set-up: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv with pip if it is missing. PYTHON picks the interpreter that builds it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast ablation ablation-unpaired ablation-style fonts venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m pono_gan.demo

test: $(STAMP) fonts
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# The PONO-vs-baselines ablation on Song -> Kai glyph pairs (26 runs, about 75 minutes on 2 cores): writes docs/results.md.
ablation: $(STAMP) fonts
	$(PY) benchmarks/ablation.py

# The paper's headline setting: unpaired CycleGAN on the glyphs as two disjoint domains, 6 variants, 5 / 3 seeds and
# a longer budget (about two and a half hours on 2 cores): writes docs/results_unpaired.md.
ablation-unpaired: $(STAMP) fonts
	$(PY) benchmarks/ablation.py --task unpaired

# The style (MUNIT) model with and without PONO-MS on the glyphs as unpaired domains: writes docs/results_style.md.
ablation-style: $(STAMP) fonts
	$(PY) benchmarks/ablation.py --task style

# Every font the glyph data set and its tests use: Debian's Arphic Song / Kai and DejaVu Sans / Serif (the tests
# that need them skip without them, and fail under CI). Needs root for apt-get.
FONTS := /usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf /usr/share/fonts/truetype/arphic-gkai00mp/gkai00mp.ttf \
	/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf
FONT_PACKAGES := fonts-arphic-gbsn00lp fonts-arphic-gkai00mp fonts-dejavu-core
fonts:
	@for f in $(FONTS); do test -f $$f || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq $(FONT_PACKAGES) >/dev/null; \
	  else \
	    echo "note: fonts are missing; run: sudo apt-get install $(FONT_PACKAGES)"; \
	  fi; \
	fi

clean:
	rm -rf $(VENV) runs wandb outputs

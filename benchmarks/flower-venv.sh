#!/usr/bin/env bash
# A venv for the Flower side of benchmarks/simulate.py: flwr[simulation] pins an older FastAPI than Prefect
# needs, so it lives in its own venv that sees the project's .venv (torch, our packages) behind its own packages.
#   bash benchmarks/flower-venv.sh && .venv-flower/bin/python benchmarks/simulate.py
set -euo pipefail
cd "$(dirname "$0")/.."
test -x .venv/bin/python || make setup
test -x .venv-flower/bin/python || python3 -m venv .venv-flower
main_site=$(.venv/bin/python -c 'import site; print(site.getsitepackages()[0])')
flower_site=$(.venv-flower/bin/python -c 'import site; print(site.getsitepackages()[0])')
printf '%s\n%s\n' "$main_site" "$PWD" > "$flower_site/zz_flickr_mammal.pth"
.venv-flower/bin/pip install -q --disable-pip-version-check 'flwr[simulation]>=1.13' 2>&1 | grep -v "^WARNING: Location" || true
.venv-flower/bin/python -c 'import flwr, ray; print("flwr", flwr.__version__, "ray", ray.__version__)'

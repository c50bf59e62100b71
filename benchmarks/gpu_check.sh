#!/usr/bin/env bash
# The GPU checks in one command, on a machine whose python3 has a CUDA build of PyTorch:
#
#     bash benchmarks/gpu_check.sh [OUT_DIR]
#
# 1. installs ulterior into that python3, from .gpu-kit/ when the kit is there (no package
#    index needed: see benchmarks/gpu_kit.py), else from the package index; pip keeps the
#    machine's torch, transformers, accelerate and peft where they satisfy ulterior;
# 2. runs the `gpu` tests and the device tests (tests/gpu, tests/models/test_device.py);
# 3. runs the GPU benchmark (benchmarks/bench_gpu.py, 512 items).
# OUT_DIR (default gpu-check/) receives env.txt, pytest.log and gpu.json. Where torch sees no
# GPU, the tests skip and the benchmark runs its CPU smoke mode: that checks the script only.
# Exit status: the tests', else the benchmark's.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-check}
python=${PYTHON:-python3}
mkdir -p "$out" && out=$(cd "$out" && pwd)

if [ -d .gpu-kit ]; then
  source=(--no-index --find-links .gpu-kit "ulterior[hf,organisms]")
else
  source=(-e ".[hf,organisms]")
fi
"$python" -m pip install --quiet --disable-pip-version-check "${source[@]}" pytest \
  || { echo "gpu_check: installing ulterior failed (see above)"; exit 2; }
# The tests and the benchmark read this checkout's code, whatever version is installed.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

gpu=$("$python" -c "import torch; print(int(torch.cuda.is_available()))")
{
  date -u +"%Y-%m-%dT%H:%M:%SZ"
  if [ "$gpu" = 1 ]; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; fi
  "$python" -c "import platform, torch, transformers, accelerate, peft
print('python', platform.python_version(), '| torch', torch.__version__, '| cuda',
      torch.version.cuda, '| transformers', transformers.__version__, '| accelerate',
      accelerate.__version__, '| peft', peft.__version__)"
} 2>&1 | tee "$out/env.txt"

"$python" -m pytest tests/gpu tests/models/test_device.py -p no:cacheprovider -q 2>&1 \
  | tee "$out/pytest.log"
tests=${PIPESTATUS[0]}

if [ "$gpu" = 1 ]; then bench=(--items 512); else bench=(--items 16 --device cpu --config tiny); fi
PYTHONUNBUFFERED=1 "$python" benchmarks/bench_gpu.py "${bench[@]}" --out "$out/gpu.json"
benchmark=$?
[ "$tests" -ne 0 ] && exit "$tests"
exit "$benchmark"

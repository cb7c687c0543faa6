#!/usr/bin/env bash
# GPU figures of issue 17.4, prepared for a GPU machine (none was lent when this was written; nothing
# depends on this script). From the repository root, one part per call (each fits a 10-minute slot):
#
#   bash bench/gpu_student.sh lora      # bench/student.py, `small` student (~200M), LoRA, 10 min budget
#   bash bench/gpu_student.sh qlora     # the same with QLoRA (needs bitsandbytes; skipped without it)
#   bash bench/gpu_student.sh teacher   # bench/teacher.py engine: vLLM vs transformers (needs vllm)
#   bash bench/gpu_student.sh train     # bench/train.py: docfoundry vs TRL (needs trl), small size
#
# OUT (default /tmp/gpu-student, or $OUT) gets one folder per part: results.json, curves.png, the
# printed table (table.md) and a log; a part whose library is missing writes skipped.txt instead.
# BUDGET_MIN (10), CONTEXTS (none; text,layout need rapidocr there), PYTHON (python) override.
set -euo pipefail
part=${1:?usage: bash bench/gpu_student.sh lora|qlora|teacher|train}
OUT=${OUT:-/tmp/gpu-student}
PY=${PYTHON:-python}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$OUT/$part"
have() { "$PY" -c "import $1" 2>/dev/null; }
skip() { echo "$part: skipped, $1" | tee "$OUT/$part/skipped.txt"; exit 0; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/gpu.txt" 2>&1 || true

case $part in
  lora|qlora)
    [ "$part" = lora ] || have bitsandbytes || skip "no bitsandbytes on this machine"
    # wall clock: on a GPU the budget is elapsed time; lr 2e-4 is the LoRA default at this size
    "$PY" -m bench.student --out "$OUT/$part" --sizes small --method "$part" --lrs 2e-4 --batch 8 \
      --clock wall --budget-min "${BUDGET_MIN:-10}" --eval-every 100 --eval-pages 16 \
      --train-pages 800 --contexts "${CONTEXTS:-none}" --threads 8 \
      > "$OUT/$part/table.md" 2> "$OUT/$part/log.txt" ;;
  teacher)
    have vllm || skip "no vllm on this machine"
    "$PY" -m bench.teacher engine --pages 32 --hf-pages 8 --dtype bfloat16 \
      > "$OUT/$part/table.md" 2> "$OUT/$part/log.txt" ;;
  train)
    have trl || skip "no trl on this machine"
    "$PY" -m bench.train --size small --steps 50 --batch 4 --dtype bfloat16 --trl-bf16 \
      --work "$OUT/$part/work" > "$OUT/$part/table.md" 2> "$OUT/$part/log.txt" ;;
  *) echo "unknown part '$part' (lora, qlora, teacher, train)" >&2; exit 2 ;;
esac
cat "$OUT/$part/table.md"

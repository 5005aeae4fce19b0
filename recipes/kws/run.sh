#!/usr/bin/env bash
# One command, from a seed: synthesize the corpus, train, export the bundled model.
#   recipes/kws/run.sh [SEED]
# Needs: apt-get install espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k
# asterisk-core-sounds-en-wav; pip install hibari-tts==0.2.1 torch==2.13.0
# (CPU wheel) onnx kaldi-native-fbank scipy soundfile.
set -euo pipefail
SEED=${1:-0}
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${ECHOIC_KWS_DATA:-$HOME/.cache/echoic/kws-data}
nice -n 10 python3 "$HERE/make_data.py" --out "$DATA" --seed "$SEED"
cd "$HERE"
nice -n 10 python3 train.py --data "$DATA" --seed "$SEED" --epochs 12 \
  --out "$HERE/../../sdk/echoic/models/echoic-kws-en/model.onnx"

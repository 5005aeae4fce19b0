"""The Python examples run as a user would run them."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_stream_example_prints_a_final_per_file(speech_dev):
    files = [str(speech_dev / "pocketsphinx-goforward__goforward.wav"), str(speech_dev / "pocketsphinx-cards__001.wav")]
    out = subprocess.run(
        [sys.executable, str(REPO / "examples" / "stream-python" / "stream.py"),
         str(REPO / "tests" / "data" / "asr-random-wenet"), *files],
        capture_output=True, text=True, check=True, timeout=300,
    )
    lines = out.stdout.splitlines()
    for f in files:
        assert any(l.startswith(f + " [0] ") and len(l) > len(f) + 5 for l in lines), out.stdout

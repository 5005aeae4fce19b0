#!/usr/bin/env python3
"""Several live streams sharing one recognizer, decoded together.

    python3 examples/stream-python/stream.py MODEL FILE.wav [FILE.wav ...]

Each file plays the part of a microphone: 100 ms chunks arrive for every stream in
turn, one `decode` call advances every ready stream in encoder runs of up to `max_batch` streams
(chosen by the model unless given: 1 for echoic-small-en, whose large per-stream state is cheaper
to update in place, 8 for echoic-tiny-en), partials update in place and finals are printed as
utterances end.
"""
import sys

import echoic


def main(model: str, files: list) -> None:
    rec = echoic.Recognizer(model, vad="energy")  # VAD-gated endpointing
    clips = [echoic.audio.read(f, downmix=True) for f in files]
    streams = [rec.create_stream() for _ in clips]
    step = [c.sample_rate // 10 for c in clips]
    pos = [0] * len(clips)
    while not all(s.is_done for s in streams):
        for i, (s, c) in enumerate(zip(streams, clips)):
            if pos[i] < len(c.samples):
                s.accept_waveform(c.samples[pos[i] : pos[i] + step[i]], c.sample_rate)
                pos[i] += step[i]
            elif not s.is_done:
                s.input_finished()
        while any(s.is_ready for s in streams):
            rec.decode(streams)  # every ready stream, in runs of up to max_batch
        for f, s in zip(files, streams):
            for r in s.pop_final_results():
                print(f"{f} [{r.segment}] {r.text}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])

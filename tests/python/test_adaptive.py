"""Memory-pressure fallback end to end: a real allocation failure (RLIMIT_AS in a
child process), a mid-utterance switch that loses nothing, events, counters,
the C API and the CLI."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import echoic
from echoic.adaptive import parse_byte_size

DATA = Path(__file__).resolve().parents[1] / "data"
BIG = DATA / "asr-random-wenet-large"
SMALL = DATA / "asr-random-wenet"
REPO = Path(__file__).resolve().parents[2]


def speech_file(speech_dev: Path, name: str = "ljspeech__LJ001-0001.wav") -> Path:
    return speech_dev / name


def texts(results):
    return " ".join(r.text for r in results if r.text)


def feed(rec, stream, x, sr, start, end, step=1600):
    out = []
    for i in range(start, end, step):
        stream.accept_waveform(x[i : min(i + step, end)], sr)
        rec.decode_available(stream)
        out += stream.pop_final_results()
    return out


# ---- a real allocation failure -------------------------------------------------

CHILD = textwrap.dedent(
    r"""
    import json, resource, sys
    import numpy as np, soundfile as sf
    import echoic

    def vsize():
        for line in open("/proc/self/status"):
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024

    mode, big, small, wav = sys.argv[1:5]
    x, sr = sf.read(wav, dtype="float32")
    echoic.Session(sys.argv[5])  # ORT library + environment: paid once, before measuring
    base = vsize()
    if mode == "measure-small":  # the fallback path alone: adaptive over the small tier, whole file
        rec = echoic.AdaptiveRecognizer([small], poll_interval=0, endpoint=False)
        rec.transcribe(x, sr, chunk_ms=100)
        print(json.dumps({"need": vsize() - base}))
        sys.exit(0)
    if mode == "measure-big":  # just loading the big tier
        echoic.Recognizer(big)
        print(json.dumps({"need": vsize() - base}))
        sys.exit(0)
    limit = base + int(sys.argv[6])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    events = []
    try:
        rec = echoic.AdaptiveRecognizer([big, small], poll_interval=0, endpoint=False,
                                        on_model_switch=lambda *e: events.append(e))
    except echoic.EchoicMemoryError as e:
        print(json.dumps({"error": "EchoicMemoryError", "message": str(e)}))
        sys.exit(0)
    t = rec.transcribe(x, sr, chunk_ms=100)
    print(json.dumps({"tier": rec.current_tier, "text": t.text, "models": sorted({s.model for s in t.segments}),
                      "counters": rec.counters, "big": rec.tier_stats(0)}))
    """
)


def run_child(args, timeout=120):
    env = dict(os.environ, MALLOC_ARENA_MAX="1")  # no per-thread malloc arenas (64 MB of address space each)
    p = subprocess.run([sys.executable, "-c", CHILD, *map(str, args)], capture_output=True, text=True, env=env,
                       timeout=timeout)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_address_space_limit_makes_big_tier_fail_and_small_tier_serve(speech_dev):
    wav = speech_file(speech_dev)
    warm = DATA / "linear.onnx"
    # Address space each path needs on top of the warmed-up process, each in a fresh child.
    small_need = run_child(["measure-small", BIG, SMALL, wav, warm])["need"]
    big_need = run_child(["measure-big", BIG, SMALL, wav, warm])["need"]
    assert big_need > small_need + (2 << 20), (small_need, big_need)  # room for a robust limit
    # Just under what the big tier needs to load: it fails (at load, or at its
    # first decode if the allocator is lucky), the small one takes over.
    limit = small_need + int(0.75 * (big_need - small_need))
    got = run_child(["limit", BIG, SMALL, wav, warm, limit])
    assert got.get("tier") == SMALL.name, got
    c = got["counters"]
    assert c["failed_loads"] + c["oom_decodes"] >= 1, c
    if c["failed_loads"]:
        assert got["big"]["failed_loads_oom"] == 1
        assert "memory" in got["big"]["last_error"].lower() or "bad_alloc" in got["big"]["last_error"]
    assert got["models"] == [SMALL.name]
    # The fallback result is exactly what the small tier gives on its own.
    x, sr = sf.read(wav, dtype="float32")
    ref = echoic.Recognizer(SMALL, endpoint=False).transcribe(x, sr, chunk_ms=100)
    assert got["text"] == ref.text and ref.text
    # Nothing fits: a clear typed error, not a crash.
    got = run_child(["limit", BIG, SMALL, wav, warm, max(small_need // 4, 1 << 18)])
    assert got["error"] == "EchoicMemoryError"
    assert "no model tier fits" in got["message"]


# ---- no audio lost -------------------------------------------------------------------


@pytest.mark.parametrize("switch_at", [0.3, 0.65])
def test_mid_utterance_switch_loses_no_words(speech_dev, switch_at):
    x, sr = sf.read(speech_file(speech_dev), dtype="float32")
    ref_rec = echoic.Recognizer(SMALL, endpoint=False)
    want = ref_rec.transcribe(x, sr, chunk_ms=100).text
    assert want

    rec = echoic.AdaptiveRecognizer([BIG, SMALL], endpoint=False, poll_interval=0, system_probes=False)
    s = rec.create_stream()
    cut = int(len(x) * switch_at) // 1600 * 1600
    finals = feed(rec, s, x, sr, 0, cut)
    assert s.tier == BIG.name and s.partial().model == BIG.name
    assert s.buffered_seconds == pytest.approx(cut / sr)
    rec.signal_memory_pressure("low")
    p = s.partial()  # the safe point: the stream moves and re-decodes here
    assert p.model == SMALL.name and s.tier == SMALL.name
    finals += feed(rec, s, x, sr, cut, len(x))
    s.input_finished()
    rec.decode_available(s)
    finals += s.pop_final_results()
    assert texts(finals) == want
    assert {r.model for r in finals} == {SMALL.name}
    c = rec.counters
    assert c["switches_down"] == 1 and c["streams_moved"] == 1
    assert c["redecoded_seconds"] == pytest.approx(cut / sr, abs=1e-3)
    assert not rec.tier_stats(BIG.name)["loaded"]  # the big tier was given back


def test_switch_with_endpointing_keeps_every_segment(speech_dev):
    """Segments closed before the switch stay; later ones come from the small tier; times keep counting."""
    x, sr = sf.read(speech_file(speech_dev), dtype="float32")
    # Random-weight tiers never emit long blank runs: close segments by length (rule 3) instead.
    rec = echoic.AdaptiveRecognizer([BIG, SMALL], poll_interval=0, system_probes=False,
                                    rule3_max_utterance_length=2.0)
    s = rec.create_stream()
    cut = int(5.3 * sr)
    first = feed(rec, s, x, sr, 0, cut)
    assert s.buffered_seconds < 2.5  # only the open segment's audio is kept
    rec.signal_memory_pressure("critical")
    rest = feed(rec, s, x, sr, cut, len(x))
    s.input_finished()
    rec.decode_available(s)
    rest += s.pop_final_results()
    assert len(first) >= 2 and all(r.model == BIG.name for r in first)
    assert rest and all(r.model == SMALL.name for r in rest)
    allr = first + rest
    assert [r.segment for r in allr] == list(range(len(allr)))
    starts = [r.segment_start for r in allr]
    assert starts == sorted(starts) and rest[0].segment_start >= 3.9
    # The move happens at the next decode, after one more 0.1 s chunk arrived.
    assert rec.counters["redecoded_seconds"] == pytest.approx(5.4 - rest[0].segment_start, abs=0.01)
    # Every word time lies in the audio.
    assert all(0 <= w.start <= len(x) / sr + 0.5 for r in allr for w in r.words)


# ---- events, counters, budget, errors -----------------------------------------------


def test_events_counters_and_moving_back_up(speech_dev):
    events = []
    rec = echoic.AdaptiveRecognizer([BIG, SMALL], poll_interval=0, system_probes=False, upgrade_after=0.0,
                                    on_model_switch=lambda *e: events.append(e))
    assert rec.current_tier == BIG.name and rec.tier_names == [BIG.name, SMALL.name]
    assert rec.sample_rate == 16000
    assert rec.tier_stats(BIG.name)["resident_bytes"] > 0  # the first load grows the process
    rec.signal_memory_pressure("critical")
    assert events == [(BIG.name, SMALL.name, "memory pressure signal 'critical'")]
    rec.signal_memory_pressure("moderate")
    rec.evaluate()
    assert rec.current_tier == SMALL.name  # moderate: no moving up
    rec.signal_memory_pressure("none")
    rec.evaluate()
    assert rec.current_tier == BIG.name and len(events) == 2 and events[1][:2] == (SMALL.name, BIG.name)
    c = rec.counters
    assert (c["switches_down"], c["switches_up"], c["failed_loads"]) == (1, 1, 0)
    st = rec.tier_stats(BIG.name)
    # A reload reuses pages its unload freed, so its RSS delta lies around 0 and can be below it
    # (the allocator handed memory back meanwhile: -16 KB under ASan): measured, not -1.
    assert st["loads"] == 2 and st["unloads"] == 1 and st["resident_bytes"] != -1
    t = rec.transcribe(speech_file(speech_dev), chunk_ms=100)
    assert t.text and all(s.model == BIG.name for s in t.segments)


def test_budget_below_rss_starts_on_the_smallest_tier_and_relief_moves_up():
    rec = echoic.AdaptiveRecognizer([BIG, SMALL], memory_budget="1MB", poll_interval=0, system_probes=False,
                                    upgrade_after=0.0)
    assert rec.current_tier == SMALL.name
    assert rec.memory_state["source"] == "budget" and rec.memory_state["available_bytes"] == 0
    rec.set_memory_budget("64GB")
    rec.evaluate()
    assert rec.current_tier == BIG.name
    assert rec.events[-1][0] == SMALL.name and "available" in rec.events[-1][2]


def test_background_monitor_reacts_to_budget():
    rec = echoic.AdaptiveRecognizer([BIG, SMALL], poll_interval=0.02, system_probes=False)
    assert rec.current_tier == BIG.name
    rec._r.set_budget(1 << 20)  # C++ call: the monitor thread does the rest
    import time

    deadline = time.time() + 5
    while rec._r.current_tier_name != SMALL.name and time.time() < deadline:
        time.sleep(0.01)
    assert rec._r.current_tier_name == SMALL.name
    rec.evaluate()
    assert rec.events and rec.events[0][:2] == (BIG.name, SMALL.name)


def test_bad_arguments_are_typed_errors(tmp_path):
    with pytest.raises(echoic.InvalidArgumentError):
        echoic.AdaptiveRecognizer([])
    with pytest.raises(echoic.InvalidArgumentError):
        echoic.AdaptiveRecognizer(str(SMALL))
    with pytest.raises(echoic.NotFoundError):
        echoic.AdaptiveRecognizer([tmp_path / "nope", SMALL])
    with pytest.raises(echoic.InvalidArgumentError):
        echoic.AdaptiveRecognizer([BIG, SMALL], low_watermark="100MB", high_watermark="10MB")
    with pytest.raises(echoic.InvalidArgumentError):
        parse_byte_size("lots")
    assert parse_byte_size("300MB") == 300 << 20 and parse_byte_size(5) == 5
    rec = echoic.AdaptiveRecognizer([SMALL], poll_interval=0)
    with pytest.raises(echoic.InvalidArgumentError):
        rec.signal_memory_pressure("panic")
    with pytest.raises(echoic.InvalidArgumentError):
        rec.switch_to(3)
    m = echoic.adaptive.read_memory()
    assert m["available_bytes"] > 0 and m["source"]


# ---- C API ------------------------------------------------------------------------------


def test_c_api_adaptive(speech_dev):
    cffi = pytest.importorskip("cffi")
    from c_api_helpers import get_str, header_cdef

    ffi = cffi.FFI()
    ffi.cdef(header_cdef())
    lib = ffi.dlopen(echoic.c_library_path())
    switches = []

    @ffi.callback("void(const char*, const char*, const char*, void*)")
    def on_switch(frm, to, reason, user):
        switches.append((ffi.string(frm).decode(), ffi.string(to).decode(), ffi.string(reason).decode()))

    cfg = ffi.new("echoic_adaptive_config*")
    lib.echoic_adaptive_config_default(cfg)
    assert cfg.poll_interval_ms == 500 and cfg.max_buffer_seconds == 30
    models = [ffi.new("char[]", str(p).encode()) for p in (BIG, SMALL)]
    arr = ffi.new("const char*[2]", models)
    cfg.tier_models = arr
    cfg.num_tiers = 2
    cfg.poll_interval_ms = 0
    cfg.system_probes = 0
    cfg.on_model_switch = on_switch
    out = ffi.new("echoic_adaptive**")
    assert lib.echoic_adaptive_create(cfg, out) == lib.ECHOIC_OK, ffi.string(lib.echoic_last_error())
    rec = out[0]
    idx, name = ffi.new("int32_t*"), ffi.new("const char**")
    assert lib.echoic_adaptive_current_tier(rec, idx, name) == 0 and idx[0] == 0
    assert ffi.string(name[0]).decode() == BIG.name
    sp = ffi.new("echoic_adaptive_stream**")
    assert lib.echoic_adaptive_stream_create(rec, ffi.NULL, sp) == 0
    stream = sp[0]
    streams = ffi.new("echoic_adaptive_stream*[1]", [stream])
    x, sr = sf.read(speech_file(speech_dev), dtype="float32")
    ready = ffi.new("int32_t*")
    for i in range(0, len(x), 1600):
        part = np.ascontiguousarray(x[i : i + 1600])
        assert lib.echoic_adaptive_stream_accept_waveform(stream, sr, ffi.cast("const float*", part.ctypes.data),
                                                          len(part)) == 0
        if i == 48000:
            assert lib.echoic_adaptive_signal_pressure(rec, lib.ECHOIC_PRESSURE_LOW) == 0
        while lib.echoic_adaptive_is_ready(rec, stream, ready) == 0 and ready[0]:
            assert lib.echoic_adaptive_decode(rec, streams, 1) == 0
    assert lib.echoic_adaptive_stream_input_finished(stream) == 0
    done = ffi.new("int32_t*")
    while lib.echoic_adaptive_is_done(rec, stream, done) == 0 and not done[0]:
        assert lib.echoic_adaptive_decode(rec, streams, 1) == 0
    res = ffi.new("echoic_result**")
    got = []
    while lib.echoic_adaptive_stream_pop_final(stream, res) == 0 and res[0] != ffi.NULL:
        got.append((get_str(ffi, lib.echoic_result_text, res[0]), get_str(ffi, lib.echoic_result_model, res[0])))
        lib.echoic_result_free(res[0])
    assert got and all(m == SMALL.name for _, m in got)
    counters = ffi.new("echoic_adaptive_counters*")
    assert lib.echoic_adaptive_get_counters(rec, counters) == 0
    assert counters.switches_down == 1 and counters.streams_moved == 1
    assert counters.redecoded_seconds == pytest.approx(3.1, abs=0.11)
    assert switches == [(BIG.name, SMALL.name, "memory pressure signal 'low'")]
    assert lib.echoic_adaptive_signal_pressure(rec, 9) == lib.ECHOIC_ERR_INVALID_ARGUMENT
    assert b"level" in ffi.string(lib.echoic_last_error())
    lib.echoic_adaptive_stream_free(stream)
    lib.echoic_adaptive_free(rec)


# ---- CLI ---------------------------------------------------------------------------------


def test_cli_memory_budget_and_fallback_model(speech_dev):
    wav = speech_file(speech_dev, "ljspeech__LJ001-0002.wav")
    env = dict(os.environ)

    def run(*a):
        return subprocess.run([sys.executable, "-m", "echoic", "transcribe", str(wav), *a],
                              capture_output=True, text=True, env=env, timeout=120)

    plain_small = run("--model", str(SMALL))
    assert plain_small.returncode == 0, plain_small.stderr
    assert "memory" not in plain_small.stderr  # unchanged without the new flags
    tight = run("--model", str(BIG), "--fallback-model", str(SMALL), "--memory-budget", "1MB")
    assert tight.returncode == 0, tight.stderr
    assert f"using {SMALL.name} (" in tight.stderr
    assert tight.stdout == plain_small.stdout
    roomy = run("--model", str(BIG), "--fallback-model", str(SMALL), "--memory-budget", "64GB")
    plain_big = run("--model", str(BIG))
    assert roomy.returncode == 0 and f"using {BIG.name} (" in roomy.stderr
    assert roomy.stdout == plain_big.stdout


def test_tiers_may_mix_ctc_and_transducer_models(speech_dev):
    """A tier is any model the Recognizer runs: fall back from the CTC tier to a transducer folder."""
    transducer = DATA / "asr-random-transducer"
    if not (transducer / "encoder.onnx").is_file():
        pytest.skip("no transducer test model in this tree")
    x, sr = sf.read(speech_file(speech_dev, "ljspeech__LJ001-0002.wav"), dtype="float32")
    want = echoic.Recognizer(transducer, endpoint=False).transcribe(x, sr, chunk_ms=100).text
    assert want
    rec = echoic.AdaptiveRecognizer([BIG, transducer], endpoint=False, poll_interval=0, system_probes=False)
    s = rec.create_stream()
    finals = feed(rec, s, x, sr, 0, 16000)
    rec.signal_memory_pressure("low")
    finals += feed(rec, s, x, sr, 16000, len(x))
    s.input_finished()
    rec.decode_available(s)
    finals += s.pop_final_results()
    assert texts(finals) == want
    assert {r.model for r in finals} == {transducer.name}

#!/usr/bin/env python3
"""Keyword-spotting evaluation: per held-out synthetic "user", false-reject rate at
0.5 false alarms/hour (FA measured on >= 1 h of negative speech + noise), model size,
MACs and latency per second of audio, for the base model, weights-only adaptation
and hybrid adaptation (weights + structured channel pruning). Also the real clips in
../shared/eval/keywords and the open-vocabulary (recognizer) path.

    PYTHONPATH=sdk:build/dev/python python3 benchmarks/kws/bench_kws.py \
        --data ~/.cache/echoic/kws-data --out benchmarks/kws
"""
import argparse
import datetime
import json
import os
import platform
import sys
import time

import numpy as np

import echoic
from echoic.kws import personalize as kws_personalize
from echoic.kws.model import KwsNet

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.path.abspath(os.path.join(REPO, "..", "shared"))
SR = 16000
sys.path.insert(0, os.path.join(REPO, "recipes", "kws"))
# Voices for the ambient audio besides the user's own: neither training-stream nor
# evaluation-stream voices of this corpus' negatives (checked at run time).
AMBIENT_VOICES = ["espeak:en-us+m3", "espeak:en-gb-x-gbclan+f2"]


def load(path):
    d = np.load(path)
    offs = np.concatenate([[0], np.cumsum(d["lengths"])])
    clips = [d["audio"][offs[i]:offs[i + 1]].astype(np.float32) / 32768 for i in range(len(d["lengths"]))]
    return clips, [str(v) for v in d["labels"]], [str(v) for v in d["voices"]], [str(v) for v in d["texts"]]


def negative_stream(data, noise_minutes):
    """The >= 1 h evaluation stream without keywords (held-out negative text read by user and
    training voices, short gaps, then filtered noise) and the clips kept back for adaptation."""
    neg_clips, _, neg_voices, _ = load(os.path.join(data, "negatives.npz"))
    clash = set(AMBIENT_VOICES) & set(neg_voices)
    if clash:
        raise SystemExit(f"ambient voices {clash} also read the evaluation negatives")
    rng = np.random.default_rng(0)
    gaps = [rng.standard_normal(int(SR * rng.uniform(0.2, 1.0))).astype(np.float32) * 1e-3 for _ in neg_clips]
    adapt_negs = neg_clips[-3:]  # a few minutes the users may give as their own negatives
    stream = np.concatenate([v for c, g in zip(neg_clips[:-3], gaps) for v in (c, g)])
    noise = rng.standard_normal(int(noise_minutes * 60 * SR)).astype(np.float32)
    noise = np.convolve(noise, np.ones(8) / 8, mode="same").astype(np.float32) * 0.02
    return np.concatenate([stream, noise]), adapt_negs


def user_splits(data, keywords, n_users):
    """Held-out "user" voices: per voice, enrollment clips (rate 160, 3 pitches), test clips
    (rates 130 and 190: 6 per keyword) and the voice's non-keyword confusers."""
    users_clips, users_labels, users_voices, _ = load(os.path.join(data, "users.npz"))
    per_user = {}
    for v in sorted(set(users_voices))[:n_users]:
        idx = [i for i, vv in enumerate(users_voices) if vv == v]
        kw_idx = [i for i in idx if users_labels[i] in keywords]
        # clip order per keyword: rate (130, 160, 190) x pitch (40, 60, 80)
        enroll, test = [], []
        for kw in keywords:
            ii = [i for i in kw_idx if users_labels[i] == kw]
            enroll += ii[3:6]
            test += ii[:3] + ii[6:9]
        confusers = [users_clips[i] for i in idx if users_labels[i] not in keywords]
        per_user[v] = (enroll, test, confusers)
    return users_clips, users_labels, users_voices, per_user


def detector_events(scores, times, thr, refractory):
    """Counts events of a recorded score trace at one threshold (same rules as the C++
    EventDetector: rising edge per keyword, refractory after any event)."""
    k = scores.shape[1] - 1
    armed = np.ones(k, bool)
    last = -1e30
    ev = []
    for s, t in zip(scores[:, 1:], times):
        above = s >= thr
        armed |= ~above
        cand = above & armed
        if not cand.any():
            continue
        if t - last < refractory:
            armed &= ~above
            continue
        b = int(np.argmax(np.where(cand, s, -1)))
        armed[b] = False
        last = t
        ev.append((b, t))
    return ev


def score_trace(model, audio):
    s = echoic.KeywordSpotter(model, record_scores=True)
    s.accept(audio, SR)
    s.finish()
    return s.scores()


def clip_max_scores(model, clips, labels, keywords):
    """Max smoothed score of the right keyword, and whether another keyword beat it, per clip."""
    out = []
    pad_a, pad_b = np.zeros(int(0.4 * SR), np.float32), np.zeros(int(0.8 * SR), np.float32)
    rng = np.random.default_rng(0)
    for c, l in zip(clips, labels):
        x = np.concatenate([pad_a, c, pad_b])
        x = x + rng.standard_normal(len(x)).astype(np.float32) * 3e-4
        sc, _ = score_trace(model, x)
        k = keywords.index(l) + 1
        other = np.delete(sc[:, 1:], k - 1, axis=1).max()
        out.append((float(sc[:, k].max()), float(other)))
    return np.array(out)


def frr_at_fa(neg_scores, neg_times, hours, pos, thresholds, target=0.5, refractory=1.0):
    """(threshold, FA/h, FRR) at the lowest threshold whose FA/h <= target, plus the curve."""
    curve = []
    best = None
    for thr in thresholds:
        fa = len(detector_events(neg_scores, neg_times, thr, refractory)) / hours
        # A positive clip is accepted when its keyword crosses thr and no other keyword scores higher.
        frr = float(np.mean(~((pos[:, 0] >= thr) & (pos[:, 0] >= pos[:, 1]))))
        curve.append((float(thr), fa, frr))
        if best is None and fa <= target:
            best = (float(thr), fa, frr)
    return best or curve[-1], curve


def latency(model, audio, reps=3):
    """Seconds of compute per second of audio (whole-buffer, batched) and per streaming hop."""
    best = 1e9
    for _ in range(reps):
        s = echoic.KeywordSpotter(model)
        t0 = time.perf_counter()
        s.accept(audio, SR)
        best = min(best, time.perf_counter() - t0)
    per_s = best / (len(audio) / SR)
    # streaming: 100 ms chunks, one window per run
    s = echoic.KeywordSpotter(model, max_batch=1)
    chunk = SR // 10
    ts = []
    for i in range(0, min(len(audio), 30 * SR), chunk):
        t0 = time.perf_counter()
        s.accept(audio[i:i + chunk], SR)
        ts.append(time.perf_counter() - t0)
    return per_s, float(np.median(ts[20:])) if len(ts) > 25 else float(np.median(ts))


def ambient_audio(voices, seconds, seed, cache):
    """What a device hears around its user that holds no keyword: phrases from the
    *training* half of the negative text (the evaluation stream reads the other half),
    spoken by the user's voice and other voices, plus a little hum-like noise."""
    if os.path.exists(cache):
        d = np.load(cache)
        return [d[k] for k in sorted(d.files, key=lambda k: int(k[1:]))]
    import make_data

    rng = np.random.default_rng(seed)
    words = make_data.negative_words()
    text = words[:len(words) // 2]
    out, total, k = [], 0.0, 0
    while total < seconds:
        i = int(rng.integers(len(text) - 40))
        a = make_data.synth(voices[k % len(voices)], " ".join(text[i:i + 40]), int(rng.choice([140, 170, 200])),
                            int(rng.choice([40, 55, 70]))).astype(np.float32) / 32768
        out.append(a)
        total += len(a) / SR
        k += 1
    t = np.arange(30 * SR) / SR
    out.append((0.01 * np.sin(2 * np.pi * 100 * t) + 0.003 * rng.standard_normal(len(t))).astype(np.float32))
    np.savez(cache, **{f"a{i}": a for i, a in enumerate(out)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.expanduser("~/.cache/echoic/kws-data"))
    ap.add_argument("--model", default=os.path.join(REPO, "sdk/echoic/models/echoic-kws-en/model.onnx"))
    ap.add_argument("--out", default=os.path.join(REPO, "benchmarks/kws"))
    ap.add_argument("--users", type=int, default=5)
    ap.add_argument("--prune", type=float, default=0.73)
    ap.add_argument("--prune-steps", type=int, default=3)
    ap.add_argument("--prune-epochs", type=int, default=400)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--ambient-seconds", type=float, default=900.0, help="unlabeled ambient audio per user")
    ap.add_argument("--noise-minutes", type=float, default=10.0, help="noise added to the negative stream")
    a = ap.parse_args()
    work = os.path.join(a.data, "bench")
    os.makedirs(work, exist_ok=True)
    res = {"args": vars(a), "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
           "machine": platform.platform(),
           "cpu": platform.processor() or platform.machine(), "python": sys.version.split()[0],
           "echoic": echoic.__version__, "threads": 1}
    base = KwsNet.from_onnx(a.model)
    keywords = base.keywords

    # ---- negative stream (>= 1 h): held-out text by user + training voices, plus noise ----
    stream, adapt_negs = negative_stream(a.data, a.noise_minutes)
    hours = len(stream) / SR / 3600
    res["negative_hours"] = hours
    print(f"negative stream {hours:.2f} h", flush=True)

    users_clips, users_labels, users_voices, per_user = user_splits(a.data, keywords, a.users)
    voices = list(per_user)

    thresholds = np.round(np.concatenate([np.arange(0.30, 0.90, 0.02), np.arange(0.90, 0.999, 0.005)]), 4)
    models = {"base": a.model}
    results = {}

    def evaluate_model(tag, path, user_test):
        t0 = time.time()
        sc, tm = score_trace(path, stream)
        pos = clip_max_scores(path, [users_clips[i] for i in user_test], [users_labels[i] for i in user_test],
                              keywords)
        best, curve = frr_at_fa(sc, tm, hours, pos, thresholds)
        print(f"  {tag}: thr {best[0]:.3f} FA/h {best[1]:.2f} FRR {best[2]:.3f} ({time.time() - t0:.0f}s)",
              flush=True)
        return {"threshold": best[0], "fa_per_hour": best[1], "frr": best[2], "curve": curve}

    all_test = [i for v in voices for i in per_user[v][1]]
    results["base"] = evaluate_model("base (all users)", a.model, all_test)

    per_user_res = {}
    for ui, v in enumerate(voices):
        enroll, test, confusers = per_user[v]
        print(f"user {v}", flush=True)
        clips_by_kw = {}
        for i in enroll:
            clips_by_kw.setdefault(users_labels[i], []).append(users_clips[i])
        # the user's own non-keyword audio, as 1.2 s clips (long streams as one group
        # destabilized the pruned fine-tuning in our runs)
        negs = confusers + [c[i:i + 19200] for c in adapt_negs for i in range(0, SR * 20, SR * 2)]
        amb = ambient_audio([v] + AMBIENT_VOICES, a.ambient_seconds, 1000 + ui,
                            os.path.join(work, f"ambient_user{ui}_{int(a.ambient_seconds)}.npz"))
        r = {"base": evaluate_model("base", a.model, test)}
        r["ambient_seconds"] = float(sum(len(x) for x in amb) / SR)
        for tag, prune in (("weights", 0.0), ("hybrid", a.prune)):
            out = os.path.join(work, f"user{ui}_{tag}.onnx")
            t0 = time.time()
            # Both get the same data: enrollment clips, the user's confusers, ambient audio.
            rep = kws_personalize.personalize(a.model, clips_by_kw, negs, out=out, prune=prune,
                                              epochs=a.epochs, force=True, seed=ui, unlabeled=amb,
                                              prune_steps=a.prune_steps, prune_epochs=a.prune_epochs)
            rep["adapt_seconds"] = time.time() - t0
            print(f"  {tag}: adapted in {rep['adapt_seconds']:.0f}s, held-out {rep['held_out_before']} -> "
                  f"{rep['held_out_after']}", flush=True)
            r[tag] = evaluate_model(tag, out, test)
            r[tag]["report"] = {k: v for k, v in rep.items() if k != "out"}
            models[f"user{ui}_{tag}"] = out
        per_user_res[v] = r
    results["users"] = per_user_res

    # ---- size / MACs / latency (same machine, same run) ----
    lat_audio = stream[:60 * SR]
    cost = {}
    for tag in ["base", "user0_weights", "user0_hybrid"]:
        p = models[tag]
        net = KwsNet.from_onnx(p)
        per_s, hop = latency(p, lat_audio)
        w = int(net.metadata["window_frames"])
        hop_frames = int(net.metadata["hop_frames"])
        cost[tag] = {"bytes": os.path.getsize(p), "params": net.num_params(), "macs_per_window": net.macs(w),
                     "macs_per_second": net.macs(w) * 100 // hop_frames, "latency_s_per_s_audio": per_s,
                     "latency_ms_per_hop": hop * 1000, "channels": net.channels()}
        print(f"{tag}: {cost[tag]}", flush=True)
    results["cost"] = cost

    # ---- real clips ----
    kd = os.path.join(SHARED, "eval", "keywords")
    real = {}
    for line in open(os.path.join(kd, "labels.tsv")).read().splitlines()[1:]:
        f, want = (line.split("\t") + [""])[:2]
        want = [w for w in want.split(",") if w]
        for tag in ["base", "user0_weights", "user0_hybrid"]:
            got = [e.keyword for e in echoic.spot(os.path.join(kd, f), model=models[tag])]
            real.setdefault(f, {"expected": want})[tag] = got
    results["real_clips"] = real

    # ---- open vocabulary (recognizer + hotwords) on the same real clip ----
    try:
        from echoic.kws import open_vocabulary

        t0 = time.time()
        ov = open_vocabulary.spot_open_vocabulary(os.path.join(kd, "multiple_keywords.wav"), sorted(set(keywords)))
        results["open_vocabulary"] = {"events": [e.keyword for e in ov], "seconds": time.time() - t0}
    except echoic.EchoicError as exc:
        results["open_vocabulary"] = {"error": str(exc)}

    res["results"] = results
    json.dump(res, open(os.path.join(a.out, "results.json"), "w"), indent=1, default=float)
    plots(res, a.out)
    write_md(res, a.out)
    print("wrote", os.path.join(a.out, "results.json"))


def write_md(res, out):
    r = res["results"]
    c = r["cost"]
    users = r["users"]
    mean = lambda tag, key: float(np.mean([u[tag][key] for u in users.values()]))  # noqa: E731
    w, h = c["user0_weights"], c["user0_hybrid"]
    lines = [
        "# Keyword spotting benchmark", "",
        f"Machine: {res['machine']} ({res['cpu']}), Python {res['python']}, echoic {res['echoic']}, "
        f"ONNX Runtime 1 thread. Date: {res['date']}. Produced by `benchmarks/kws/bench_kws.py` in one run.", "",
        f"Negative audio for false alarms: {res['negative_hours']:.2f} h (held-out text by held-out and training "
        "voices, plus smoothed noise); never used for adaptation. Users: held-out synthetic voices; enrollment = "
        "3 clips per keyword (rate 160), test = 6 clips per keyword (rates 130 and 190).", "",
        f"Adaptation data per user (the same for weights-only and hybrid): the enrollment clips (speed-perturbed "
        f"x0.85/x1.15 on the device), the user's 32 near-miss words, 20 s of other negative speech, and "
        f"{np.mean([u.get('ambient_seconds', 0) for u in users.values()]):.0f} s of unlabeled ambient audio: "
        f"the training half of the negative text (the evaluation stream reads the other half) spoken by the user's "
        f"voice and by {', '.join(AMBIENT_VOICES)} (voices not in the evaluation stream), plus 30 s of hum. "
        f"Hybrid: prune {res.get('args', {}).get('prune', '?')} of the channels in "
        f"{res.get('args', {}).get('prune_steps', '?')} steps, distilling the weight-adapted model at every step.", "",
        "## False-reject rate at <= 0.5 false alarms / hour (mean over users)", "",
        "| model | FRR | FA/h | threshold |", "|---|---|---|---|",
    ]
    for tag in ("base", "weights", "hybrid"):
        lines.append(f"| {tag} | {mean(tag, 'frr'):.3f} | {mean(tag, 'fa_per_hour'):.2f} | "
                     f"{mean(tag, 'threshold'):.3f} |")
    lines += ["", "Per user (threshold chosen per model on the evaluation negatives, the same rule for all):", "",
              "| user | base FRR (thr) | weights-only FRR (thr) | hybrid FRR (thr) | hybrid channels | adapt s (w / "
              "h) |",
              "|---|---|---|---|---|---|"]
    for v, u in users.items():
        cells = " | ".join(f"{u[t]['frr']:.3f} ({u[t]['threshold']:.2f})" for t in ("base", "weights", "hybrid"))
        rep_w, rep_h = u["weights"]["report"], u["hybrid"]["report"]
        lines.append(f"| {v} | {cells} | {rep_h['channels_after']} | "
                     f"{rep_w['adapt_seconds']:.0f} / {rep_h['adapt_seconds']:.0f} |")
    lines += ["", "At the threshold each adapted model set for itself on the device (`threshold` metadata: the "
              "shipped 0.5, raised above the top keyword posterior on held-out ambient audio; no evaluation data):", "",
              "| user | weights-only thr: FRR / FA/h | hybrid thr: FRR / FA/h |", "|---|---|---|"]
    for v, u in users.items():
        cells = []
        for t in ("weights", "hybrid"):
            thr = float(u[t]["report"].get("threshold", 0.5))
            pt = min((c for c in u[t]["curve"] if c[0] >= thr - 1e-6), key=lambda c: c[0], default=u[t]["curve"][-1])
            cells.append(f"{thr:.2f}: {pt[2]:.3f} / {pt[1]:.2f}")
        lines.append(f"| {v} | {cells[0]} | {cells[1]} |")
    lines += ["", "## Cost (user 0's adapted models; same machine, same run)", "",
              "| model | ONNX bytes | params | channels | MACs / s audio | compute s / s audio | ms / 100 ms hop |",
              "|---|---|---|---|---|---|---|"]
    for tag, x in c.items():
        lines.append(f"| {tag} | {x['bytes']} | {x['params']} | {x['channels']} | {x['macs_per_second'] / 1e6:.1f} M | "
                     f"{x['latency_s_per_s_audio'] * 1000:.2f} ms | {x['latency_ms_per_hop']:.3f} |")
    lines += ["", f"Compression (hybrid vs weights-only): {w['bytes'] / h['bytes']:.2f}x bytes, "
              f"{w['params'] / h['params']:.2f}x params, {w['macs_per_second'] / h['macs_per_second']:.2f}x MACs; "
              f"latency {w['latency_s_per_s_audio'] / h['latency_s_per_s_audio']:.2f}x lower per second of audio "
              f"(batched), {w['latency_ms_per_hop'] / h['latency_ms_per_hop']:.2f}x per streaming hop.", "",
              "## Real clips (../shared/eval/keywords)", "", "| file | expected | base | weights | hybrid |",
              "|---|---|---|---|---|"]
    for f, x in r["real_clips"].items():
        lines.append(f"| {f} | {','.join(x['expected'])} | {','.join(x['base'])} | {','.join(x['user0_weights'])} | "
                     f"{','.join(x['user0_hybrid'])} |")
    ov = r.get("open_vocabulary", {})
    ov_text = (f"failed: {ov['error']}" if "error" in ov else
               f"events: {', '.join(ov.get('events', [])) or 'none'} ({ov.get('seconds', 0):.2f} s of compute)")
    lines += ["", "## Open vocabulary (recognizer + hotwords) on multiple_keywords.wav", "",
              f"Default hotword settings: {ov_text}. False alarms, FRR and boosts: `OPEN_VOCABULARY.md`.",
              "", "![DET](det.png)", "", "![cost](cost.png)", ""]
    notes = os.path.join(out, "NOTES.md")  # hand-written analysis, kept across re-runs
    if os.path.exists(notes):
        lines += [open(notes).read()]
    open(os.path.join(out, "RESULTS.md"), "w").write("\n".join(lines))


def plots(res, out):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plots")
        return
    r = res["results"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for tag, style in (("base", "k-"), ("weights", "b--"), ("hybrid", "r-.")):
        curves = [u[tag]["curve"] for u in r["users"].values()]
        fa = np.mean([[c[1] for c in cv] for cv in curves], 0)
        frr = np.mean([[c[2] for c in cv] for cv in curves], 0)
        ax.plot(np.maximum(fa, 1e-2), frr, style, label=tag)
    ax.axvline(0.5, color="gray", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("false alarms per hour")
    ax.set_ylabel("false-reject rate")
    ax.set_title("KWS: mean over held-out synthetic users")
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, "det.png"), dpi=110)
    c = r["cost"]
    tags = list(c)
    fig, axs = plt.subplots(1, 3, figsize=(10, 3))
    for ax, key, lab in zip(axs, ["bytes", "macs_per_second", "latency_s_per_s_audio"],
                            ["ONNX bytes", "MACs / s audio", "s compute / s audio"]):
        ax.bar(range(len(tags)), [c[t][key] for t in tags])
        ax.set_xticks(range(len(tags)))
        ax.set_xticklabels([t.replace("user0_", "") for t in tags])
        ax.set_title(lab)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "cost.png"), dpi=110)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--render":  # rewrite RESULTS.md from results.json
        res = json.load(open(os.path.join(sys.argv[2], "results.json")))
        plots(res, sys.argv[2])
        write_md(res, sys.argv[2])
    else:
        main()

"""The paper's comparison table on our corpus: methods x speech modalities, scored on the TEST split.

Trains every (method, modality, seed) with ``ml.training.trainer.train_model`` (model selection
on the valid split only, by the trainer), evaluates each model with speech test clips as queries
against the music test split as catalogue, and prints MRR / P@5 / nDCG@5 (mean ± std over seeds),
the chance level of random rankings of the same split, and the numbers the paper publishes for
IEMOCAP (docs/method.md#reference-numbers), then the same as one JSON object.

    PYTHONPATH=$PWD nice -n 5 python benchmarks/compare_methods.py --corpus data/corpus_small \\
        --seeds 0 1 2 --work-dir /tmp/s2m-compare
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.evaluation.dataset import DatasetError
from ml.evaluation.runner import collect_corpus

METHODS = ("classify", "regress", "triplet", "emosim")
MODALITIES = ("audio", "text", "fusion")
TABLE_METRICS = (("mrr", "MRR"), ("p_at_5", "P@5"), ("ndcg_at_5", "nDCG@5"))
# The paper's published IEMOCAP results (mean over runs), for reference rows.
PAPER_IEMOCAP = [
    {"method": "triplet", "modality": "text", "mrr": 0.75, "p_at_5": 0.68, "ndcg_at_5": 0.87},
    {"method": "triplet", "modality": "audio", "mrr": 0.74, "p_at_5": 0.67, "ndcg_at_5": 0.86},
    {"method": "emosim", "modality": "audio", "mrr": 0.76, "p_at_5": 0.68, "ndcg_at_5": 0.88},
    {"method": "triplet", "modality": "fusion", "mrr": 0.80, "p_at_5": 0.73, "ndcg_at_5": 0.89},
    {"method": "emosim", "modality": "fusion", "mrr": 0.83, "p_at_5": 0.75, "ndcg_at_5": 0.90},
]
METHOD_TITLES = {
    "classify": "Classification",
    "regress": "VA regression",
    "triplet": "Triplet",
    "emosim": "Triplet + EmoSim",
}


def run_one(
    corpus_dir: Path,
    clips: tuple[list, list],
    model_dir: Path,
    method: str,
    modality: str,
    seed: int,
    epochs: int,
    reuse: bool,
    overrides: dict,
) -> dict:
    """Train (unless reusing a finished model dir) and evaluate one configuration on the test split."""
    from ml.embedding.bundle import load_model
    from ml.evaluation.runner import evaluate_clips
    from ml.training.trainer import train_model

    started = time.perf_counter()
    if not (reuse and (model_dir / "config.json").is_file()):
        train_model(corpus_dir, model_dir, method=method, modality=modality, seed=seed, epochs=epochs, **overrides)
    trained = time.perf_counter()
    evaluation = evaluate_clips(load_model(model_dir), *clips, progress=False).to_dict()
    return {
        "method": method,
        "modality": modality,
        "seed": seed,
        "model_dir": str(model_dir),
        "train_seconds": round(trained - started, 1),
        "eval_seconds": round(time.perf_counter() - trained, 1),
        **evaluation,
    }


def summarise(runs: list[dict]) -> list[dict]:
    """Group runs by (method, modality) and give mean and std (0 for a single seed) of each metric."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in runs:
        groups.setdefault((run["method"], run["modality"]), []).append(run)
    rows = []
    for (method, modality), group in groups.items():
        row: dict = {"method": method, "modality": modality, "n_seeds": len(group)}
        for key in ("mrr", "p_at_5", "ndcg_at_5", "sim_at_5", "speech_accuracy"):
            values = [run[key] for run in group]
            row[key] = statistics.fmean(values)
            row[f"{key}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(row)
    return rows


def format_table(rows: list[dict], chance: dict[str, float], corpus_dir: Path) -> str:
    """Render our rows, the chance level of the test split and the paper's IEMOCAP rows as plain text."""
    header = f"{'method':<18}{'modality':<9}" + "".join(f"{title:>14}" for _, title in TABLE_METRICS)
    lines = [f"test split of {corpus_dir} (mean ± std over seeds)", header, "-" * len(header)]
    for row in rows:
        cells = "".join(f"{row[key]:>8.3f} ±{row[key + '_std']:.2f}" for key, _ in TABLE_METRICS)
        lines.append(f"{METHOD_TITLES[row['method']]:<18}{row['modality']:<9}{cells}")
    lines.append(f"{'Random ranking':<18}{'-':<9}" + "".join(f"{chance[key]:>8.3f}      " for key, _ in TABLE_METRICS))
    lines += ["", "The paper, IEMOCAP (reference, different data)", header, "-" * len(header)]
    for row in PAPER_IEMOCAP:
        cells = "".join(f"{row[key]:>14.2f}" for key, _ in TABLE_METRICS)
        lines.append(f"{METHOD_TITLES[row['method']]:<18}{row['modality']:<9}{cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="corpus directory (s2m corpus build)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--modalities", nargs="+", choices=MODALITIES, default=list(MODALITIES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs", type=int, help="training epochs per run (trainer default if unset)")
    parser.add_argument("--steps-per-epoch", type=int, help="optimisation steps per epoch (trainer default if unset)")
    parser.add_argument("--batch-size", type=int, help="training batch size (trainer default if unset)")
    parser.add_argument("--no-augment", action="store_true", help="train without augmentation (faster on CPU)")
    parser.add_argument("--work-dir", type=Path, help="where trained models go (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="evaluate model dirs already trained in --work-dir")
    parser.add_argument("--json-out", type=Path, help="also write the JSON report to this file")
    args = parser.parse_args()

    corpus_dir = args.corpus
    try:
        clips = collect_corpus(corpus_dir, "test")
    except DatasetError as exc:
        parser.error(f"{corpus_dir} is not a usable corpus: {exc}")
    modalities = list(args.modalities)
    skipped = []
    # Text and fusion rank by transcript: every speech test clip needs one in the manifest.
    if not all(clip.transcript for clip in clips[0]) and set(modalities) & {"text", "fusion"}:
        skipped = [m for m in modalities if m != "audio"]
        modalities = [m for m in modalities if m == "audio"]
        print(
            f"no transcripts for every speech test clip in {corpus_dir}/manifest.csv: skipping {', '.join(skipped)}",
            file=sys.stderr,
        )
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="s2m-compare-"))
    overrides = {k: v for k, v in (("steps_per_epoch", args.steps_per_epoch), ("batch_size", args.batch_size)) if v}
    if args.no_augment:
        overrides["augment"] = False
    plan = [(m, mod, s) for mod in modalities for m in args.methods for s in args.seeds]
    runs = []
    for method, modality, seed in tqdm(plan, desc="train + evaluate", unit="model"):
        model_dir = work_dir / f"{method}-{modality}-seed{seed}"
        runs.append(run_one(corpus_dir, clips, model_dir, method, modality, seed, args.epochs, args.reuse, overrides))
    rows = summarise(runs)
    chance = runs[0]["chance"]  # the same test labels for every run
    report = {
        "corpus": str(corpus_dir),
        "split": "test",
        "epochs": args.epochs,
        "seeds": args.seeds,
        "skipped_modalities": skipped,
        "results": rows,
        "chance": chance,
        "runs": runs,
        "paper_iemocap": PAPER_IEMOCAP,
    }
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(format_table(rows, chance, corpus_dir))
    print()
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()

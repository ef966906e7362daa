"""The reference syntax layer: script language, JSON vectors, directive files."""

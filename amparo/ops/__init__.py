"""Operations: the background worker and its schedule, backups and restores."""

"""Operations: the phase machine, its context, gates, moves, effects and isolation."""

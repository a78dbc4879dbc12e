"""Money is integers: amounts in KRW, rates as integer fractions of ``RATE_SCALE``."""

RATE_SCALE = 10**10  # integer rates are fractions in units of 1e-10 (0.015% -> 1_500_000)

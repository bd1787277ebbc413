"""npp: preprocessing-enhanced image compression for machine vision (Lu et al., TCSVT 2024)."""

__version__ = "0.1.0"

"""Training NPP and its proxy codec on any folder of photos (no labels needed)."""

"""SEAM."""

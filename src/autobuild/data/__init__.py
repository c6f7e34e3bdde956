"""Labelled data: loading measurements and computing training targets."""

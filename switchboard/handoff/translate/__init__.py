"""Translators: a canonical transcript -> the message formats of model APIs, and back."""

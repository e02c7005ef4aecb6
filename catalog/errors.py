"""The one error type users see: a one-line message naming the input and what to do."""


class UserError(Exception):
    """Bad input or environment. The CLI prints ``flickr-mammal: error: <message>`` and exits 2."""

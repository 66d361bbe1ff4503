"""The process: the gunicorn application `podium serve` runs, its configuration file, and the
webhook dispatcher started beside the workers. The top of the house: it may import anything."""

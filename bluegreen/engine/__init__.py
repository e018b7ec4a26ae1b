"""The cutover as a plain Python library: no pulumi imports allowed here."""

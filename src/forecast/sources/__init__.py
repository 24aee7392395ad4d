"""Readers for the publisher files: one module per source family.

Each reader takes the sources folder (or a file) and returns tidy frames; none writes files.
A reader that meets a file it cannot understand raises DataError naming the file and column.
"""

"""Fuzzing of every decoder a remote party can reach (see ``fuzz/README.md``)."""

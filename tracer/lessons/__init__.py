"""Guided lessons: the rows of LESSONS.md told step by step with shipped recordings."""

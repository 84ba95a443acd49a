"""``sockscope grade``: homework definitions, the requirement types over a recording, and the grading session."""

"""The composition root: the one settings object (`wiring.settings`) and the parts built from it
(`wiring.parts.Wiring`). The command line and the bot get everything from here; below it, code takes plain
parameters."""

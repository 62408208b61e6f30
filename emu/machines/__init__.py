"""Code that belongs to one machine only (a machine's board glue), one package per
machine, as MAME keeps a driver's own code beside its driver.  Reusable chips live
in emu/devices/ and never import from here; machines/*.yaml wire both together."""

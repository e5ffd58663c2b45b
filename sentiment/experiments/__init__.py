"""Experiments that measure the models across data: how far each cell
remembers (`memory`) and what flips a verdict (`suite`, its word lists in
`lexicon`)."""

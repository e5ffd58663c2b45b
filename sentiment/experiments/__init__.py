"""Experiments that measure the models across data: how far each cell
remembers (`memory`), what flips a verdict (`suite`, its word lists in
`lexicon`), and the rules that make extra training rows (`augment`)."""

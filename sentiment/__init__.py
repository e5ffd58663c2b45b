"""sentiment: LSTM and GRU classifiers of movie reviews, built from cells we
write ourselves, and the tools to see what their gates do.

The packages, each importing only from those below it (pyproject.toml
states the rule as an import-linter contract, and CI holds it):

    cli         the command line: train.py's run, python -m sentiment COMMAND
    app         the Streamlit app's tabs (app.py is their table of contents)
    reporting   report.md, curves.png, the app's charts
    experiments experiments on the models: how far each cell remembers, what flips a verdict
    analysis    reading a model on a review: traces, explanations, gradients, the unit atlas
    evaluation  test-set figures, paired tests, metrics.json's schema
    training    fitting, the devices, the baselines
    data        IMDB and tables of your own, splits, batches
    network     the cells, their time loop, the model
    core        settings, atomic files, a quiet TensorFlow start

reporting and experiments do not import each other; nor do analysis,
evaluation and training; nor data and network.
"""

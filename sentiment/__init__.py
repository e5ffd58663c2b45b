"""sentiment: LSTM and GRU classifiers of movie reviews, built from cells we
write ourselves, and the tools to see what their gates do.

The packages, each importing only from those below it (pyproject.toml
states the rule as an import-linter contract, and CI holds it):

    cli         the command line: train.py's run, python -m sentiment COMMAND
    app         the Streamlit app: its shell, tabs and charts (app.py lists the tabs)
    run         a run folder as one object (Run): its metrics, models, splits and result files
    reporting   report.md, curves.png
    experiments experiments on the models: how far each cell remembers, what flips a verdict
    analysis    reading a model on a review: traces, explanations, gradients, the unit atlas
    evaluation  test-set figures, paired tests, metrics.json's schema
    training    fitting, the devices, the baselines
    data        IMDB and tables of your own, splits, batches
    network     the cells, their time loop, the model
    numpy_cells the saved models run in NumPy, no TensorFlow: each cell's step beside its equations
    core        settings, atomic files, typed JSON, a quiet TensorFlow start

run and reporting do not import each other; nor do analysis, evaluation
and training; nor data, network and numpy_cells (which imports
neither TensorFlow nor Keras).
"""

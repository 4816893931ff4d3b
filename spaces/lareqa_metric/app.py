"""Space entry point: the standard `evaluate` metric widget for lareqa_metric.py.

The Space pins gradio 3.x in README.md (`sdk_version`), the last major version whose `gr.inputs`
API `evaluate.utils.launch_gradio_widget` (evaluate 0.4.x) is written against.  Run locally with a
newer gradio, the same widget (a table with one row per query) is built here with the current API.
"""

from pathlib import Path

import evaluate
from evaluate.utils import launch_gradio_widget

HERE = Path(__file__).resolve().parent


def load_metric():
    return evaluate.load(str(HERE / "lareqa_metric.py"))


def build_demo(metric):
    """The widget for gradio >= 4 (no `gr.inputs`): same inputs and parsing as evaluate's widget."""
    import gradio as gr
    from evaluate.utils.gradio import infer_gradio_input_types, json_to_string_type, parse_gradio_data, parse_readme

    names, types = zip(*metric.features.items())
    input_types = infer_gradio_input_types(types)

    def compute(data):
        return metric.compute(**parse_gradio_data(data, input_types))

    return gr.Interface(
        fn=compute,
        inputs=gr.Dataframe(headers=list(names), datatype=json_to_string_type(input_types),
                            value=[["[0.9, 0.2]", "q1", "en"], ["[0.3, 0.7]", "q2", "de"]]),
        outputs=gr.JSON(label=metric.name),
        title=f"Metric: {metric.name}",
        description=metric.info.description + "\nOne row per query: its score row (JSON list, one score per "
        "candidate), its group id and language. Without candidate metadata, candidate i is the answer of query i.",
        article=parse_readme(HERE / "README.md"),
    )


def main():
    import gradio as gr

    metric = load_metric()
    if hasattr(gr, "inputs"):
        launch_gradio_widget(metric)
    else:
        build_demo(metric).launch()


if __name__ == "__main__":
    main()

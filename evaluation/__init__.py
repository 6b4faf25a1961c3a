"""The evaluation harness: RealTime QA retrieval and answers, the reading set, the sample article, abstention
calibration and the naive LangChain baseline. `newsbot eval` and `python -m newsbot.reading_eval` run it."""

"""What a run says to people and pipelines: targets, verdicts, the timeline chart, Allure
attachments, the HTML report with its history and trends, and the job summary."""

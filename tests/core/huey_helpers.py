import datetime

from huey.contrib.djhuey import HUEY

FAR_FUTURE = datetime.datetime(2100, 1, 1)


def run_scheduled_tasks() -> list:
    """Run the tasks Huey scheduled for later (retries) as the consumer does once their time has come.

    In immediate mode a failed task is not slept on: it waits in the in-memory schedule. Retries scheduled by
    those runs are run too, until none is left. Returns the tasks run, in order.
    """
    ran = []
    while tasks := HUEY.read_schedule(FAR_FUTURE):
        for task in tasks:
            ran.append(task)
            HUEY.execute(task, timestamp=task.eta)
    return ran

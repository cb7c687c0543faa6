"""Human review of the teacher's doubtful fields in Label Studio, and the corrections back as truth.

``labeling``: the Label Studio labeling config and the control of each field, from the schema;
``tasks``: a labeled folder -> Label Studio tasks with the teacher's answers as predictions;
``corrections``: a Label Studio JSON export -> a reviewed dataset folder and the teacher's change
rates; ``commands``: the ``docfoundry review`` commands. Label Studio itself is never imported.
"""

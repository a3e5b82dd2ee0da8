@mongo @D23
Feature: MongoDB is the source of truth
  Decision D23 and spec §11: conferences and questions come from MongoDB's collections
  (`conferences`, `conferencequestions`: the existing backend's schema, protocol §11) and final results are written to
  `conferencequestionanalytics` asynchronously and idempotently; Redis vote keys are deleted
  only after the write is confirmed, so a MongoDB outage delays results and never loses them.
  Run with `--mongo-url` (the server's MongoDB).

  Scenario: A conference stored in MongoDB can be joined and polled
    Given an active conference stored in MongoDB with host "hana"
    When "hana" joins the conference
    And "alex" joins the conference
    And "alex" receives conference:joined with conferenceStatus "ACTIVE"
    And "hana" pushes question "q2" live for 30 seconds
    And "alex" receives question:live with questionId "q2"
    And "alex" votes "B" on question "q2"
    Then "alex" receives vote:accepted with isCorrect true

  Scenario: The final result is written to conferencequestionanalytics
    Given an active conference with host "hana" and audience "alex", "blake"
    And question "q1" is live for 30 seconds
    And "alex" has voted "A" on question "q1"
    And "blake" has voted "C" on question "q1"
    When "hana" closes question "q1"
    Then "alex" receives vote:final_result with totalVotes 2
    And within 10 seconds MongoDB holds the final result of question "q1" that "alex" received
    And MongoDB holds one result document for question "q1"

  Scenario: A question run twice keeps one document with the latest result
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live for 30 seconds
    And "alex" has voted "A" on question "q1"
    When "hana" closes question "q1"
    And "alex" receives vote:final_result with totalVotes 1
    And "hana" pushes question "q1" live for 30 seconds
    And "alex" receives question:live with questionId "q1"
    And "hana" closes question "q1"
    Then "alex" receives vote:final_result with totalVotes 0
    And within 10 seconds MongoDB holds the final result of question "q1" that "alex" received
    And MongoDB holds one result document for question "q1"

  @mongo-outage @serial
  Scenario: A MongoDB outage during a close delays the result and loses nothing
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live for 30 seconds
    And "alex" has voted "B" on question "q1"
    And MongoDB is down
    When "hana" closes question "q1"
    And "alex" receives vote:final_result with optionCounts.B 1 and totalVotes 1
    And MongoDB is back
    Then within 40 seconds MongoDB holds the final result of question "q1" that "alex" received

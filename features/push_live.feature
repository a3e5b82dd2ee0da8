Feature: Pushing a question live
  Spec §1.1 question:push_live, §1.2 question:live, §3.4, §4.1; decisions D6, D7, D14, D15, D22.

  @D6 @D22
  Scenario: question:live reaches the whole room with the question and its timing
    Given an active conference with host "hana" and audience "alex", "bo"
    When "hana" pushes question "q1" live for 20 seconds
    Then "alex" receives question:live matching:
      """
      {"conferenceId": "$conference", "questionId": "$q1", "questionText": "Question q1?",
       "options": [{"key": "A", "text": "Answer A"}, {"key": "B", "text": "Answer B"},
                   {"key": "C", "text": "Answer C"}, {"key": "D", "text": "Answer D"}],
       "duration": 20}
      """
    And "bo" receives question:live with duration 20
    And "hana" receives question:live with questionId "q1"
    And no actor received a malformed or leaking message

  @D15
  Scenario: Without a duration the question is live for 45 seconds
    Given an active conference with host "hana" and audience "alex"
    When "hana" pushes question "q1" live
    Then "alex" receives question:live with duration 45

  @D15 @D16 @slow
  Scenario: The default 45 seconds really runs to a timeout close
    Given an active conference with host "hana" and audience "alex"
    When "hana" pushes question "q3" live
    Then "alex" receives question:live with duration 45
    And within 50 seconds "alex" receives question:closed with reason "timeout"

  @D7
  Scenario: Pushing in a DRAFT conference answers CONFERENCE_NOT_ACTIVE
    Given a draft conference with host "hana" and audience "alex"
    When "hana" pushes question "q1" live
    Then "hana" receives error CONFERENCE_NOT_ACTIVE for question:push_live
    And "alex" does not receive question:live

  @D7
  Scenario: Pushing in an ENDED conference answers CONFERENCE_NOT_ACTIVE
    Given an ended conference hosted by "hana" that nobody joined
    And "hana" is connected
    When "hana" pushes question "q1" live
    Then "hana" receives error CONFERENCE_NOT_ACTIVE for question:push_live

  Scenario: Pushing a question of another conference answers QUESTION_NOT_FOUND
    Given an active conference with host "hana" and audience "alex"
    When "hana" sends question:push_live with {"conferenceId": "$conference", "questionId": "not-a-question"}
    Then "hana" receives error QUESTION_NOT_FOUND for question:push_live
    And "alex" does not receive question:live

  @D7
  Scenario: Pushing in an unknown conference answers CONFERENCE_NOT_FOUND
    Given "hana" is connected
    When "hana" sends question:push_live with {"conferenceId": "nowhere-$q1", "questionId": "$q1"}
    Then "hana" receives error CONFERENCE_NOT_FOUND for question:push_live

  @D14
  Scenario: Pushing the question that is live now answers OPERATION_IN_PROGRESS
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "hana" pushes question "q1" live
    Then "hana" receives error OPERATION_IN_PROGRESS for question:push_live
    And "alex" does not receive question:closed

  @D14
  Scenario: Pushing another question closes the live one fully first
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    And "alex" has voted "C" on question "q1"
    When "hana" pushes question "q2" live
    Then "alex" receives question:closed with questionId "q1" and reason "manual"
    And "alex" receives vote:final_result with questionId "q1", totalVotes 1 and optionCounts.C 1
    And "alex" receives question:live with questionId "q2"
    And "alex" receives question:closed and then question:live
    And "alex" receives vote:final_result and then question:live

  @D14
  Scenario: A closed question pushed again starts from zero votes
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    And "alex" has voted "A" on question "q1"
    When "hana" closes question "q1"
    And "alex" receives vote:final_result with totalVotes 1
    And "hana" pushes question "q1" live
    And "alex" receives question:live with questionId "q1"
    And "alex" votes "B" on question "q1"
    Then "alex" receives vote:accepted with selectedOption "B"
    And "alex" receives vote:result with totalVotes 1 and optionCounts.B 1

  @D15
  Scenario Outline: A duration outside whole seconds 1 to 3600 answers INVALID_PAYLOAD
    Given an active conference with host "hana" and audience "alex"
    When "hana" pushes question "q1" live with duration <duration>
    Then "hana" receives error INVALID_PAYLOAD for question:push_live
    And "alex" does not receive question:live

    Examples:
      | duration |
      | 0        |
      | 3601     |
      | -5       |
      | 1.5      |
      | "45"     |
      | null     |

@D18
Feature: Voting
  Spec §1.1 vote:submit, §1.2 vote:accepted / vote:rejected, §3.4, §5; decisions D18 (checks
  in order), D19 (no lost or phantom votes).

  Scenario: A vote is accepted and tells the voter if it is correct
    Given an active conference with host "hana" and audience "alex", "bo"
    And question "q1" is live
    When "alex" votes "A" on question "q1"
    And "bo" votes "B" on question "q1"
    Then "alex" receives vote:accepted with conferenceId "the conference", questionId "q1", selectedOption "A" and isCorrect true
    And "bo" receives vote:accepted with selectedOption "B" and isCorrect false
    And "bo" does not receive vote:accepted

  Scenario: The option is compared upper-cased
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "alex" votes "a" on question "q1"
    Then "alex" receives vote:accepted with selectedOption "A" and isCorrect true

  Scenario: A second vote of the same user is a duplicate
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    And "alex" has voted "A" on question "q1"
    When "alex" votes "B" on question "q1"
    Then "alex" receives vote:rejected because duplicate

  Scenario: A vote from a second socket of the same user is a duplicate
    Given an active conference with host "hana" and audience "alex", "alex#2"
    And question "q1" is live
    And "alex" has voted "A" on question "q1"
    When "alex#2" votes "C" on question "q1"
    Then "alex#2" receives vote:rejected because duplicate

  Scenario: One user, ten sockets, two hundred votes at once: exactly one is accepted
    Given an active conference with host "hana"
    And question "q1" is live
    When "alex" sends 200 votes at once from 10 sockets on question "q1"
    Then exactly 1 vote is accepted and 199 rejected as duplicate

  Scenario: An option the question does not have is invalid
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "alex" votes "Z" on question "q1"
    Then "alex" receives vote:rejected because invalid_option

  Scenario: An invalid option is reported before a duplicate
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    And "alex" has voted "A" on question "q1"
    When "alex" votes "Z" on question "q1"
    Then "alex" receives vote:rejected because invalid_option

  Scenario: A vote on a question that is not live is question_closed
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "alex" votes "A" on question "q2"
    Then "alex" receives vote:rejected because question_closed

  Scenario: A vote when nothing is live is question_closed
    Given an active conference with host "hana" and audience "alex"
    When "alex" votes "A" on question "q1"
    Then "alex" receives vote:rejected with reason "question_closed", questionId "q1" and conferenceId "the conference"

  Scenario: A vote after the manual close is refused and not counted
    Given an active conference with host "hana" and audience "alex", "bo"
    And question "q1" is live
    And "alex" has voted "A" on question "q1"
    When "hana" closes question "q1"
    And "hana" receives vote:final_result with totalVotes 1
    And "bo" votes "A" on question "q1"
    Then "bo" receives vote:rejected because question_closed

  Scenario: Not audience is checked before liveness
    Given an active conference with host "hana" and audience "alex"
    When "hana" votes "A" on question "q1"
    Then "hana" receives vote:rejected because not_audience

  Scenario: A socket that left the conference cannot vote
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "alex" leaves the conference
    And "alex" receives conference:left
    And "alex" votes "A" on question "q1"
    Then "alex" receives vote:rejected because not_audience

  @D19
  Scenario: Fifty voters racing a manual close: every accepted vote is in the final result
    Given an active conference with host "hana"
    And question "q1" is live
    When 50 audience members vote on question "q1" while "hana" closes it
    Then "hana" receives a final result that counts exactly the accepted votes
